-- Score configs: what each score name of a project may hold (data type, numeric bounds, categories).
-- POST /api/v1/scores validates against them on write; a name without a config is accepted as sent.

CREATE TABLE score_configs (
    project_id   text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    data_type    text NOT NULL CHECK (data_type IN ('numeric', 'boolean', 'categorical')),
    min_value    double precision,
    max_value    double precision,
    categories   jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(categories) = 'array'),
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name),
    CHECK (min_value IS NULL OR max_value IS NULL OR min_value <= max_value)
);
