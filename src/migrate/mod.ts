/**
 * Migrations to the Cilium resources herald reads, as pure functions of the
 * input manifests, and the check that ends a migration.
 *
 * - `migrateMetalLB(files, options)`: MetalLB CRDs or the legacy ConfigMap →
 *   CiliumLoadBalancerIPPool, CiliumBGPClusterConfig, CiliumBGPPeerConfig,
 *   CiliumBGPAdvertisement, CiliumBGPNodeConfigOverride,
 *   CiliumL2AnnouncementPolicy, Secrets and rewritten Services (metallb.ts).
 * - `migrateBgpV2(files, options)`: CiliumBGPPeeringPolicy (v1) → v2 (bgp-v2.ts).
 * - `runCheck(options)`: every LoadBalancer Service has its IPs and is
 *   advertised to every peer that should have it, read from a running
 *   agent's API (check.ts, shapes in check-api.ts).
 *
 * Both migrations return documents and findings (report.ts): what could not
 * be carried over, or was carried over differently, with its location.
 * With Nodes in the input they run herald's control plane on the output node
 * by node and report every difference from the old configuration (verify.ts).
 *
 * @example
 * ```ts
 * const r = migrateMetalLB([{ file: "metallb.yaml", text }], { split: true });
 * process.stdout.write(renderMetalLB(r));
 * ```
 */
export { DEFAULT_METALLB_OPTIONS, migrateMetalLB, renderMetalLB } from "./metallb.ts";
export type { MetalLBOptions, MetalLBResult } from "./metallb.ts";
export { DEFAULT_BGP_V2_OPTIONS, migrateBgpV2, renderMigration } from "./bgp-v2.ts";
export type { BgpV2Options, MigrationResult } from "./bgp-v2.ts";
export { formatReport, runCheck } from "./check.ts";
export type { CheckItem, CheckOptions, CheckReport } from "./check.ts";
export * from "./check-api.ts";
export { formatFinding, sortFindings } from "./report.ts";
export type { Finding, FindingLevel } from "./report.ts";
export { ADVERT_LABEL, POOL_LABEL, STAGING_LABEL } from "./names.ts";
