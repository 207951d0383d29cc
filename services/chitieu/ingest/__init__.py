"""Ingestion: connectors read sources into RawRecords; normalization, validation and loading follow."""
