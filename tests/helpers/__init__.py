"""Writers of small datasets in the formats the pipeline reads, for tests and demonstrations."""
