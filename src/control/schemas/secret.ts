/** core/v1 Secret: only TCP-MD5 passwords (`password` key) are read. */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";

export const Secret = z.object({
  apiVersion: z.literal("v1"),
  kind: z.literal("Secret"),
  metadata: ObjectMeta.extend({ namespace: z.string().default("default") }),
  type: z.string().optional(),
  /** base64 values, as stored by the API server. */
  data: z.record(z.string(), z.string()).optional(),
  /** plain values, as users write them in manifests. */
  stringData: z.record(z.string(), z.string()).optional(),
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
