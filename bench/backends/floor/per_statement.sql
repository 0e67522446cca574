-- per_statement.sql: see bench/backends/floor.sh
\set p1 random(1, :persons)
\set p2 random(1, :persons)
\set p3 random(1, :persons)
\set p4 random(1, :persons)
BEGIN;
SELECT a.id, a.case_id, a.tenant, a.kind, a.amount_cents, a.cash, a.provider, a.funding, a.granted_on, a.delivered_on, a.status, a.created_at, c.programme, p.id, p.restricted, CASE WHEN p.red_links > 0 THEN 1 ELSE 0 END, CASE WHEN p.erased_at IS NULL THEN 0 ELSE 1 END FROM persons p LEFT JOIN (cases c JOIN assistance a ON a.case_id = c.id) ON c.person_id = p.id AND p.erased_at IS NULL AND (p.restricted = 0 OR p.tenant = 'BE') WHERE p.id = ANY (CAST(ARRAY[:p1,:p2,:p3,:p4] AS BIGINT[])) ORDER BY p.id, a.id;
SAVEPOINT avrr_write;
INSERT INTO checks (tenant, key_id, purpose, person_id, request_json, response_json, created_at) SELECT 'BE', 1, 'assistance_decision', NULL, NULL, r, 1795999359 FROM bresp;
INSERT INTO check_hits (check_id, person_id, tenant, person_ref, probability, band) SELECT currval('checks_id_seq'), h.p, h.t, h.r, h.pr, h.b FROM unnest(CAST(ARRAY[:p1,:p2,:p3,:p4] AS BIGINT[]), CAST('{NL,FR,DE,BE}' AS TEXT[]), CAST('{9eda134c2b19b7a95040b10d140af3d6,9eda134c2b19b7a95040b10d140af3d7,9eda134c2b19b7a95040b10d140af3d8,9eda134c2b19b7a95040b10d140af3d9}' AS TEXT[]), CAST('{0.98,0.7,0.5,0.4}' AS DOUBLE PRECISION[]), CAST('{strong,possible,possible,possible}' AS TEXT[])) WITH ORDINALITY AS h(p, t, r, pr, b, n) ORDER BY h.n;
INSERT INTO links (person_a, tenant_a, person_b, tenant_b, check_id, source, status, probability, reason, created_at) SELECT CAST(NULL AS BIGINT), 'BE', CAST(:p1 AS BIGINT), 'NL', currval('checks_id_seq'), 'check', 'yellow', 0.98, NULL, 1795999359 WHERE EXISTS (SELECT 1 FROM persons WHERE id = :p1) RETURNING id;
LOCK TABLE audit_events IN EXCLUSIVE MODE;
SELECT seq + 1 AS nseq, hash AS h FROM audit_events ORDER BY seq DESC LIMIT 1 \gset
RELEASE SAVEPOINT avrr_write;
INSERT INTO audit_events (seq, ts_ms, key_id, tenant, role, action, target_type, target_id, purpose, request_id, outcome, prev_hash, hash) VALUES (:nseq, 1795999359643, 0, 'BE', 'caseworker', 'check.create', 'check', 5000, '', '', 'ok', CAST(:h AS bytea), CAST(:h AS bytea));
COMMIT;
