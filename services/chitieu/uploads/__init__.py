"""Upload jobs: an uploaded file, archived by its sha256, and what loading it did.

Small files (up to CHITIEU_API_BACKGROUND_UPLOAD_MB) are loaded while the client waits, in the API process;
larger ones by the upload worker, a process of its own (`worker`), one job at a time. Both run
`run.process()`, which reads the job's input from the archive (never from the request), so a job left
queued or running by a stopped process is simply run again when a worker starts.

- `checks`: what an uploaded file really is (type from its bytes, zip bombs), before anything parses it;
- `jobs`: the `upload_jobs` table (create, read, finish, claim the next one);
- `locks`: the advisory lock whoever runs a job holds for the whole run;
- `report`: the validation report kept with a job;
- `run`: one job through the ingestion path;
- `worker`: the process that runs background jobs; `supervisor`: the API's child process running it.

Nothing here knows HTTP: the API's routes (api/routes/uploads.py) receive, call these and answer.
"""
