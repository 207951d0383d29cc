-- Airflow's metadata lives beside our data on the same server, in its own database.
CREATE DATABASE airflow OWNER chitieu;
