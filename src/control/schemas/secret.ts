/** core/v1 Secret: only TCP-MD5 passwords (`password` key) are read. */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";

/** Go's base64.StdEncoding (padded), which the API server decodes `data` with; it skips line breaks. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const Secret = z.object({
  apiVersion: z.literal("v1"),
  kind: z.literal("Secret"),
  metadata: ObjectMeta.extend({ namespace: z.string().default("default") }),
  type: z.string().optional(),
  /** base64 values, as stored by the API server. */
  data: z.record(z.string(), z.string()).optional(),
  /** plain values, as users write them in manifests. */
  stringData: z.record(z.string(), z.string()).optional(),
}).superRefine((s, ctx) => {
  // The API server refuses such a Secret; reported on `data` so that the value (a password) is not printed.
  for (const [key, value] of Object.entries(s.data ?? {})) {
    if (!BASE64.test(value.replace(/[\r\n]/g, ""))) {
      ctx.addIssue({
        code: "custom",
        path: ["data"],
        message: `key "${key}" must be base64-encoded (the API server stores Secret data that way; plain text goes under stringData)`,
      });
    }
  }
});
export type Secret = z.infer<typeof Secret>;

/** A key's decoded value: stringData wins, as the API server merges it over data. */
export function secretValue(secret: Secret, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  if (encoded === undefined) return undefined;
  return new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
}
