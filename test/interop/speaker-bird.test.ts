/** herald's BGP speaker against a real bird (see speaker-suite.ts for the scenarios). */
import { useHarness } from "./harness/mod.ts";
import { speakerSuite } from "./speaker-suite.ts";

speakerSuite("bird", useHarness("sbi"));
