/**
 * What a Speaker tells its subscribers: session state changes, routes
 * received (only to subscribers that ask for them), End-of-RIB markers.
 */
import type { FamilyCode } from "./families.ts";
import type { Reason, State } from "./fsm.ts";
import type { ReceivedPath } from "./rib-in.ts";
import type { PrefixKey } from "./wire/nlri.ts";

interface PeerRef {
  instance: string;
  peer: string;
  address: string;
}

export type SpeakerEvent =
  | (PeerRef & {
    type: "state";
    state: State;
    previous: State;
    /** Why the session left Established or went Idle. */
    reason?: Reason;
    /** Details (NOTIFICATION text, socket error). */
    message?: string;
  })
  | (PeerRef & {
    type: "received";
    family: FamilyCode;
    announced: PrefixKey[];
    withdrawn: PrefixKey[];
    /** Attributes of `announced` (shared by all of them). */
    path: ReceivedPath | null;
    /** Set when RFC 7606 turned the announcement into a withdraw, or an attribute was discarded. */
    malformed?: string;
  })
  | (PeerRef & { type: "end-of-rib"; family: FamilyCode; direction: "received" | "sent" });

export type SpeakerListener = (e: SpeakerEvent) => void;
