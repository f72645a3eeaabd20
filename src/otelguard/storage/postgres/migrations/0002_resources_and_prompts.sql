-- Configuration reconciled from custom resources (GuardrailPolicy, Prompt, Evaluator, Dashboard, AlertRule),
-- and the immutable version history of prompts. Written by the controllers (operator or local mode), read
-- by collectors, the API and workers. Every change is also announced with NOTIFY otelguard_config.

CREATE TABLE resources (
    kind        text NOT NULL,                   -- custom resource kind, e.g. GuardrailPolicy
    namespace   text NOT NULL,
    name        text NOT NULL,
    uid         text,                            -- Kubernetes metadata.uid; NULL in the local mode
    generation  bigint,                          -- metadata.generation the row was written from
    labels      jsonb NOT NULL DEFAULT '{}'::jsonb,  -- metadata.labels, for filtering (folders, teams)
    spec        jsonb NOT NULL,                  -- validated spec (GuardrailPolicy: the compiled form)
    spec_hash   text NOT NULL,                   -- SHA-256 of the versioned content
    -- Increments when spec_hash changes (Prompt: the version number of the current content).
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, namespace, name)
);

-- Readers poll for rows changed since their last load.
CREATE INDEX resources_updated_at_idx ON resources (updated_at);

CREATE TABLE prompt_versions (
    kind                text NOT NULL DEFAULT 'Prompt' CHECK (kind = 'Prompt'),  -- for the foreign key
    namespace           text NOT NULL,
    name                text NOT NULL,
    version             integer NOT NULL CHECK (version >= 1),
    content_hash        text NOT NULL,
    content             jsonb NOT NULL,          -- template or messages, variables, modelConfig
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL,           -- e.g. otelguard-operator
    created_uid         text,
    created_generation  bigint,                  -- the resource generation that introduced this content
    git_revision        text,                    -- otelguard.io/git-revision annotation, when present
    PRIMARY KEY (namespace, name, version),
    UNIQUE (namespace, name, content_hash),      -- the same content never becomes a second version
    FOREIGN KEY (kind, namespace, name) REFERENCES resources (kind, namespace, name) ON DELETE CASCADE
);

CREATE TABLE prompt_labels (
    namespace           text NOT NULL,
    name                text NOT NULL,
    label               text NOT NULL,           -- production, staging, ...
    version             integer NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_generation  bigint,
    git_revision        text,
    PRIMARY KEY (namespace, name, label),
    FOREIGN KEY (namespace, name, version) REFERENCES prompt_versions (namespace, name, version)
        ON DELETE CASCADE
);
