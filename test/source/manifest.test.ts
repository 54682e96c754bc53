import { describe, expect, it } from "vitest";
import { parseManifests } from "../../src/source/manifest.ts";

const text = `# leading comment
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata:
  name: rack1
spec:
  families:
    - afi: ipv4
      safi: unicast
---
---
kind: Service
metadata: {name: web}
`;

describe("parseManifests()", () => {
  it("splits documents, skips empty ones and keeps their start line", () => {
    const { documents, errors } = parseManifests("peers.yaml", text);
    expect(errors).toEqual([]);
    expect(documents.map((d) => [d.index, d.location.line])).toEqual([[0, 2], [2, 12]]);
    expect((documents[1].value as { kind: string }).kind).toBe("Service");
  });

  it("locates a nested field, and the closest parent when the field is absent", () => {
    const [doc] = parseManifests("peers.yaml", text).documents;
    expect(doc.locate(["spec", "families", 0, "safi"])).toEqual({ file: "peers.yaml", line: 9, column: 7 });
    expect(doc.locate(["spec", "families", 0, "advertisements"]).line).toBe(8);
    expect(doc.locate(["metadata", "name"]).line).toBe(5);
  });

  it("reports syntax errors with their line and keeps the good documents", () => {
    const { documents, errors } = parseManifests("bad.yaml", "kind: A\n---\nkind: [unclosed\n---\nkind: B\n");
    expect(documents.map((d) => (d.value as { kind: string }).kind)).toEqual(["A", "B"]);
    expect(errors).toHaveLength(1);
    expect(errors[0].location.line).toBeGreaterThanOrEqual(3);
  });

  it("refuses duplicate keys, as the Kubernetes API does", () => {
    const { errors } = parseManifests("dup.yaml", "kind: A\nkind: B\n");
    expect(errors[0].location.line).toBe(2);
  });
});
