/** discovery.k8s.io/v1 EndpointSlice: which backends are ready, and where. */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";

export const Endpoint = z.object({
  addresses: z.array(z.string()).min(1),
  conditions: z
    .object({
      ready: z.boolean().optional(),
      serving: z.boolean().optional(),
      terminating: z.boolean().optional(),
    })
    .optional(),
  nodeName: z.string().optional(),
  hostname: z.string().optional(),
  zone: z.string().optional(),
  targetRef: z.object({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() })
    .optional(),
});
export type Endpoint = z.infer<typeof Endpoint>;

export const EndpointPort = z.object({
  name: z.string().optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
  port: z.number().int().min(1).max(65535).optional(),
  appProtocol: z.string().optional(),
});
export type EndpointPort = z.infer<typeof EndpointPort>;

export const EndpointSlice = z.object({
  apiVersion: z.literal("discovery.k8s.io/v1"),
  kind: z.literal("EndpointSlice"),
  metadata: ObjectMeta.extend({ namespace: z.string().default("default") }),
  addressType: z.enum(["IPv4", "IPv6", "FQDN"]),
  endpoints: z.array(Endpoint).nullish().transform((e) => e ?? []),
  ports: z.array(EndpointPort).nullish().transform((p) => p ?? []),
});
export type EndpointSlice = z.infer<typeof EndpointSlice>;

/** The Service a slice belongs to (label `kubernetes.io/service-name`). */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/**
 * Kubernetes' "ready" rule: an endpoint counts as an active backend when it
 * is ready (an absent `ready` means ready) and not terminating.
 */
export function isActiveEndpoint(ep: Endpoint): boolean {
  return ep.conditions?.ready !== false && ep.conditions?.terminating !== true;
}
