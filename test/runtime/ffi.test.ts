/** The FFI layer: one symbol table, bound by Deno.dlopen under Deno and koffi under Node. */
import { describe, expect, it } from "vitest";
import { lastErrno, libbpf, libc, runtimeName } from "../../src/runtime/ffi.ts";
import { LIBBPF, LIBC } from "../../src/runtime/ffi-symbols.ts";
import { check, ErrnoError, errnoName } from "../../src/runtime/errno.ts";
import { cString } from "../../src/runtime/sockaddr.ts";

describe("ffi", () => {
  it("binds through the runtime's own FFI (Deno.dlopen under Deno, koffi under Node)", () => {
    expect(runtimeName).toBe(process.versions.deno ? "deno" : "node");
  });

  it("libc() and libbpf() expose every function of the symbol table", () => {
    expect(Object.keys(libc()).sort()).toEqual(Object.keys(LIBC).sort());
    expect(Object.keys(libbpf()).sort()).toEqual(Object.keys(LIBBPF).sort());
    for (const fn of [...Object.values(libc()), ...Object.values(libbpf())]) expect(typeof fn).toBe("function");
  });

  it("lastErrno() reads errno right after a failed libc call", () => {
    expect(libc().open(cString("/nonexistent/herald"), 0)).toBe(-1);
    expect(errnoName(lastErrno())).toBe("ENOENT");
  });

  it("libbpf calls return -errno, which check() turns into ErrnoError", () => {
    const r = libbpf().bpf_obj_get(cString("/nonexistent/herald-map"));
    expect(r).toBeLessThan(0);
    expect(() => check('open "/nonexistent/herald-map"', r)).toThrow(
      'Cannot open "/nonexistent/herald-map": ENOENT (no such file or directory)',
    );
    try {
      check("x", r);
    } catch (err) {
      expect(err).toBeInstanceOf(ErrnoError);
      expect((err as ErrnoError).code).toBe("ENOENT");
    }
  });

  it("nonblocking calls return a Promise (poll on a helper thread)", async () => {
    const result = libc().poll(null, 0, 10);
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(0);
  });
});
