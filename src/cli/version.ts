import { BUILD_DATE, COMMIT, runtimeDescription, VERSION } from "../version.ts";

export function versionText(): string {
  return `herald ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE}, ${runtimeDescription()})`;
}

export function versionCommand(): number {
  console.log(versionText());
  return 0;
}
