/** herald's BGP speaker against a real gobgp (see speaker-suite.ts for the scenarios). */
import { useHarness } from "./harness/mod.ts";
import { speakerSuite } from "./speaker-suite.ts";

speakerSuite("gobgp", useHarness("sgo"));
