-- Custom resources of the local GitOps mode (`otelguard up --manifests DIR`, `otelguard apply -f`): what the
-- Kubernetes API server keeps for each object in a cluster, so `otelguard get` in another process sees it.
-- The configuration rows the controllers derive from these objects live in `resources` (0002) as usual.

CREATE SEQUENCE local_objects_resource_version;

CREATE TABLE local_objects (
    kind              text NOT NULL,             -- custom resource kind, e.g. Prompt
    namespace         text NOT NULL,
    name              text NOT NULL,
    -- Like metadata.generation: 1 on creation, +1 on every change outside metadata and status.
    generation        bigint NOT NULL DEFAULT 1 CHECK (generation >= 1),
    manifest          jsonb NOT NULL,            -- as applied, without status; schema defaults filled in
    status            jsonb NOT NULL DEFAULT '{}'::jsonb,
    source            text NOT NULL,             -- the manifests path that owns it (prunes it), or 'apply'
    origin            text NOT NULL DEFAULT '',  -- file:line it was last read from
    -- Like metadata.resourceVersion: changes on every write (optimistic concurrency between processes).
    resource_version  bigint NOT NULL DEFAULT nextval('local_objects_resource_version'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, namespace, name)
);

CREATE INDEX local_objects_source_idx ON local_objects (source);
