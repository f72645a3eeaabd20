-- Argo CD health check for every otelguard.io kind (OTelGuard, GuardrailPolicy, Prompt, Evaluator, Dashboard,
-- AlertRule). See README.md beside this file for the argocd-cm configuration.
--
-- The operator summarizes each resource in its `Ready` condition. A condition is trusted only when it was
-- computed for the current spec: its observedGeneration, and status.observedGeneration, equal
-- metadata.generation. Until then the resource is Progressing, whatever an older Ready said.
--   Ready=True                      -> Healthy
--   Ready with reason Suspended     -> Suspended (spec.suspend: true)
--   Ready=False                     -> Degraded, with the condition's message
--   Ready=Unknown, no Ready, stale  -> Progressing
-- Only Lua 5.1 base functions are used: Argo CD runs health checks without the string and math libraries.

local hs = {}

local function describe(condition)
  if condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  if condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason
  end
  return "Ready is " .. tostring(condition.status)
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the resource"
  return hs
end

local observed = obj.status.observedGeneration
if observed == nil or (generation ~= nil and observed ~= generation) then
  hs.status = "Progressing"
  if observed == nil then
    hs.message = "Waiting for the operator to reconcile the resource"
  else
    hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation)
      .. " (last reconciled: " .. tostring(observed) .. ")"
  end
  return hs
end

local ready = nil
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.observedGeneration == nil or (generation ~= nil and ready.observedGeneration ~= generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition of generation " .. tostring(generation)
  return hs
end

if ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready)
return hs
