/**
 * A DRS job id as the console and the API show it: UUID layout, but not hex only — the last
 * group ends in `jb` and more characters (`8d0e8e36-a618-490d-8a46-8c61ac9jb502`). Checking
 * for hex would refuse every real job.
 */
export const DRS_JOB_ID = /^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/;

export const DRS_JOB_ID_RULE =
  'must be a DRS job id: lower-case letters and digits in UUID layout, e.g. 8d0e8e36-a618-490d-8a46-8c61ac9jb502';
