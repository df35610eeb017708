-- Tracing: the W3C traceparent of the span that accepted the record, so that
-- its jobs join the record's trace, even after a restart (NULL: tracing was
-- off).
ALTER TABLE transactions ADD COLUMN traceparent TEXT;

-- Readiness: /readyz proves the database takes writes by rewriting this one
-- row (it never grows).
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
