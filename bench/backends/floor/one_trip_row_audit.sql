-- one_trip_row_audit.sql: see bench/backends/floor.sh
\set p1 random(1, :persons)
\set p2 random(1, :persons)
\set p3 random(1, :persons)
\set p4 random(1, :persons)
\startpipeline
BEGIN;
INSERT INTO checks (tenant, key_id, purpose, person_id, request_json, response_json, created_at) SELECT 'BE', 1, 'assistance_decision', NULL, NULL, r, 1795999359 FROM bresp;
LOCK TABLE audit_events IN EXCLUSIVE MODE;
INSERT INTO audit_events (seq, ts_ms, key_id, tenant, role, action, target_type, target_id, purpose, request_id, outcome, prev_hash, hash) SELECT seq + 1, 1795999359643, 0, 'BE', 'caseworker', 'check.create', 'check', 5000, '', '', 'ok', hash, hash FROM audit_events ORDER BY seq DESC LIMIT 1;
COMMIT;
\endpipeline
