-- Per-project model price overrides: entries in the shape of semconv/prices.yaml's `models` list,
-- tried before the built-in table. One row per project; replaced as a whole (`otelguard prices set`).

CREATE TABLE price_overrides (
    project_id  text PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    entries     jsonb NOT NULL CHECK (jsonb_typeof(entries) = 'array'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
