/** Shared fixtures for the API server double's tests. */
import type { KubeObject } from "../support/apiserver/mod.ts";

/** A cluster-scoped CRD with a status subresource, two served versions and printer columns. */
export function poolCRD(): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "ciliumloadbalancerippools.cilium.io" },
    spec: {
      group: "cilium.io",
      scope: "Cluster",
      names: {
        kind: "CiliumLoadBalancerIPPool",
        plural: "ciliumloadbalancerippools",
        singular: "ciliumloadbalancerippool",
        listKind: "CiliumLoadBalancerIPPoolList",
        shortNames: ["ippools", "ippool", "lbippool", "lbippools"],
        categories: ["cilium"],
      },
      versions: ["v2", "v2alpha1"].map((name) => ({
        name,
        served: true,
        storage: name === "v2",
        deprecated: name === "v2alpha1" ? true : undefined,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Disabled", type: "boolean", jsonPath: ".spec.disabled" },
          { name: "Conflicting", type: "string", jsonPath: '.status.conditions[?(@.type=="cilium.io/PoolConflict")].status' },
          { name: "IPs Available", type: "string", jsonPath: '.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message' },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              spec: {
                type: "object",
                properties: {
                  blocks: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: { cidr: { type: "string", format: "cidr" }, start: { type: "string" }, stop: { type: "string" } },
                    },
                  },
                  disabled: { type: "boolean", default: false },
                  allowFirstLastIPs: { type: "string", enum: ["Yes", "No"] },
                  serviceSelector: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                },
              },
              status: {
                type: "object",
                properties: {
                  conditions: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    items: {
                      type: "object",
                      required: ["type", "status"],
                      properties: {
                        type: { type: "string" },
                        status: { type: "string", enum: ["True", "False", "Unknown"] },
                        reason: { type: "string" },
                        message: { type: "string" },
                        observedGeneration: { type: "integer", minimum: 0 },
                        lastTransitionTime: { type: "string", format: "date-time" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      })),
    },
  };
}

/** A cluster-scoped CRD without a status subresource, whose objects own nothing (for GC tests). */
export function simpleCRD(kind: string, plural: string, options: { status?: boolean } = {}): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.cilium.io` },
    spec: {
      group: "cilium.io",
      scope: "Cluster",
      names: { kind, plural, singular: kind.toLowerCase() },
      versions: [{
        name: "v2",
        served: true,
        storage: true,
        subresources: options.status ? { status: {} } : undefined,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      }],
    },
  };
}

export const pool = (name: string, cidr = "10.0.10.0/24", labels?: Record<string, string>): KubeObject => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumLoadBalancerIPPool",
  metadata: { name, labels },
  spec: { blocks: [{ cidr }] },
});
