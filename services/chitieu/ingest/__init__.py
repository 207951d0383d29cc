"""Ingestion: connectors read sources into RawRecords; normalisation, validation and loading follow."""
