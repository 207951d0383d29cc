"""What the API, the CLI and the files they write give out of the database: the statuses table
(`statuses`), the exported datasets with their columns and SQL (`datasets`) and the XLSX writer
(`xlsx`). No HTTP here: `chitieu.api.routes.exports` serves these, `chitieu status` prints them."""
