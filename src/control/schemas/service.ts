/**
 * core/v1 Service: the fields LB-IPAM, the BGP control plane and the
 * datapath read.
 */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";

export const ServicePort = z.object({
  name: z.string().optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
  port: z.number().int().min(1).max(65535),
  targetPort: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).optional(),
  nodePort: z.number().int().min(0).max(65535).optional(),
  appProtocol: z.string().optional(),
});
export type ServicePort = z.infer<typeof ServicePort>;

export const ServiceCondition = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type ServiceCondition = z.infer<typeof ServiceCondition>;

export const LoadBalancerIngress = z.object({
  ip: z.string().optional(),
  hostname: z.string().optional(),
  ipMode: z.string().optional(),
  ports: z.array(z.unknown()).optional(),
});
export type LoadBalancerIngress = z.infer<typeof LoadBalancerIngress>;

export const Service = z.object({
  apiVersion: z.literal("v1"),
  kind: z.literal("Service"),
  metadata: ObjectMeta.extend({ namespace: z.string().default("default") }),
  spec: z
    .object({
      type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).default("ClusterIP"),
      selector: z.record(z.string(), z.string()).optional(),
      ports: z.array(ServicePort).optional(),
      clusterIP: z.string().optional(),
      clusterIPs: z.array(z.string()).optional(),
      externalIPs: z.array(z.string()).optional(),
      loadBalancerIP: z.string().optional(),
      loadBalancerClass: z.string().optional(),
      externalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
      internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
      ipFamilies: z.array(z.enum(["IPv4", "IPv6"])).max(2).optional(),
      ipFamilyPolicy: z.enum(["SingleStack", "PreferDualStack", "RequireDualStack"]).optional(),
      allocateLoadBalancerNodePorts: z.boolean().optional(),
      sessionAffinity: z.string().optional(),
      externalName: z.string().optional(),
    })
    .default({ type: "ClusterIP" }),
  status: z
    .object({
      loadBalancer: z.object({ ingress: z.array(LoadBalancerIngress).optional() }).optional(),
      conditions: z.array(ServiceCondition).optional(),
    })
    .optional(),
});
export type Service = z.infer<typeof Service>;

/** Effective traffic policies: Kubernetes defaults both to Cluster. */
export function externalTrafficPolicy(svc: Service): "Cluster" | "Local" {
  return svc.spec.externalTrafficPolicy ?? "Cluster";
}
export function internalTrafficPolicy(svc: Service): "Cluster" | "Local" {
  return svc.spec.internalTrafficPolicy ?? "Cluster";
}

/** `namespace/name`, the key services are known by everywhere. */
export function serviceKey(svc: { metadata: { name: string; namespace?: string } }): string {
  return `${svc.metadata.namespace ?? "default"}/${svc.metadata.name}`;
}
