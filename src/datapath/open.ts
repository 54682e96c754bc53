/**
 * Opening the datapath the way the agent does: either a working Datapath
 * (maps open, program attached to the devices) or one clear reason why not,
 * which the agent logs once before running BGP without it. `--no-datapath`
 * takes the same path on purpose.
 *
 * @example
 * ```ts
 * const dp = openDatapath({ disabled: flags.noDatapath, pinDir: flags.bpfPinDir, devices: ["eth0"] });
 * if (!dp.ok) log.warn("Running BGP without the datapath", { reason: dp.reason });
 * ```
 */
import { Datapath } from "./datapath.ts";
import type { AttachOptions, DatapathOptions } from "./datapath.ts";

export interface OpenDatapathOptions extends DatapathOptions {
  /** `--no-datapath`. */
  disabled?: boolean;
  /** Devices to attach the load balancer to at tc ingress. */
  devices?: readonly string[];
  attach?: AttachOptions;
}

export type OpenDatapathResult = { ok: true; datapath: Datapath } | { ok: false; reason: string };

const PERMISSION = /\b(EPERM|EACCES)\b/;

/** The reason, worded for an operator: what failed and what to do. */
function explain(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (PERMISSION.test(message)) {
    return `${message}: herald needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (for bpffs), to run the datapath`;
  }
  return message;
}

export function openDatapath(options: OpenDatapathOptions = {}): OpenDatapathResult {
  if (options.disabled) return { ok: false, reason: "disabled with --no-datapath" };
  let datapath: Datapath | undefined;
  try {
    datapath = Datapath.open(options);
    if (options.devices?.length) datapath.attach(options.devices, options.attach);
    return { ok: true, datapath };
  } catch (err) {
    datapath?.close();
    return { ok: false, reason: explain(err) };
  }
}
