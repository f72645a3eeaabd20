import { describe, expect, it } from "vitest";
import {
  defaultVisibility,
  isDefaultVisibility,
  loadVisibility,
  parseVisibility,
  saveVisibility,
  serializeVisibility,
  storageKey,
  toggleColumn,
  type ColumnOption,
} from "./columns";

const COLS: ColumnOption[] = [
  { id: "name", label: "Name", hideable: false },
  { id: "user", label: "User" },
  { id: "cost", label: "Cost" },
  { id: "trace_id", label: "Trace id", defaultHidden: true },
];

class MemoryStore {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
}

describe("defaults", () => {
  it("shows every column but the default-hidden ones", () => {
    expect(defaultVisibility(COLS)).toEqual({ name: true, user: true, cost: true, trace_id: false });
    expect(isDefaultVisibility(defaultVisibility(COLS), COLS)).toBe(true);
  });
});

describe("toggleColumn", () => {
  it("hides and shows a column", () => {
    const hidden = toggleColumn(defaultVisibility(COLS), "user", COLS);
    expect(hidden.user).toBe(false);
    expect(toggleColumn(hidden, "user", COLS).user).toBe(true);
    expect(toggleColumn(defaultVisibility(COLS), "trace_id", COLS).trace_id).toBe(true);
  });
  it("never hides an always-shown column, and ignores unknown ids", () => {
    const vis = defaultVisibility(COLS);
    expect(toggleColumn(vis, "name", COLS)).toBe(vis);
    expect(toggleColumn(vis, "bogus", COLS)).toBe(vis);
  });
  it("keeps at least one column visible", () => {
    const cols: ColumnOption[] = [{ id: "a", label: "A" }, { id: "b", label: "B" }];
    const one = toggleColumn(defaultVisibility(cols), "a", cols);
    expect(one).toEqual({ a: false, b: true });
    expect(toggleColumn(one, "b", cols)).toBe(one);
  });
});

describe("serialize / parse", () => {
  it("stores only what differs from the defaults", () => {
    let vis = toggleColumn(defaultVisibility(COLS), "cost", COLS);
    vis = toggleColumn(vis, "trace_id", COLS);
    expect(JSON.parse(serializeVisibility(vis, COLS)!)).toEqual({ cost: false, trace_id: true });
    expect(serializeVisibility(defaultVisibility(COLS), COLS)).toBeNull();
  });
  it("round-trips", () => {
    const vis = toggleColumn(defaultVisibility(COLS), "user", COLS);
    expect(parseVisibility(serializeVisibility(vis, COLS), COLS)).toEqual(vis);
  });
  it("new columns keep their default when an old layout is loaded", () => {
    const saved = JSON.stringify({ user: false });
    const later = [...COLS, { id: "latency", label: "Latency" }];
    expect(parseVisibility(saved, later)).toMatchObject({ user: false, latency: true });
  });
  it("ignores garbage, unknown ids, non-booleans and attempts to hide fixed columns", () => {
    const def = defaultVisibility(COLS);
    for (const raw of [null, "", "{", "[]", "42", '"x"', "null"]) expect(parseVisibility(raw, COLS)).toEqual(def);
    expect(parseVisibility('{"bogus": false, "user": "no", "name": false}', COLS)).toEqual(def);
  });
  it("falls back to the defaults when a saved layout hides everything", () => {
    const cols: ColumnOption[] = [{ id: "a", label: "A" }, { id: "b", label: "B" }];
    expect(parseVisibility('{"a": false, "b": false}', cols)).toEqual({ a: true, b: true });
  });
});

describe("load / save", () => {
  it("persists per table and removes the entry on reset to defaults", () => {
    const store = new MemoryStore();
    const vis = toggleColumn(defaultVisibility(COLS), "cost", COLS);
    saveVisibility(store, "traces", vis, COLS);
    expect(store.getItem(storageKey("traces"))).toBe('{"cost":false}');
    expect(loadVisibility(store, "traces", COLS).cost).toBe(false);
    expect(loadVisibility(store, "sessions", COLS).cost).toBe(true);
    saveVisibility(store, "traces", defaultVisibility(COLS), COLS);
    expect(store.data.size).toBe(0);
  });
  it("survives a storage that throws", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("quota");
      },
      removeItem: () => {
        throw new Error("denied");
      },
    };
    expect(loadVisibility(broken, "t", COLS)).toEqual(defaultVisibility(COLS));
    expect(() => saveVisibility(broken, "t", defaultVisibility(COLS), COLS)).not.toThrow();
    expect(loadVisibility(null, "t", COLS)).toEqual(defaultVisibility(COLS));
  });
});
