"""Reference and demo data loaded from the CSV files in seeds/."""
