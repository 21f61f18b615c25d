// Package assess matches installed packages against advisories: the
// finding engine used by the server and by "patchwave assess". It is pure:
// it reads nothing and writes nothing but what its callers hand it.
//
// An Index holds OSV advisories by (ecosystem, package name). Match
// evaluates one host's packages; a Fleet evaluates many hosts, each
// distinct (ecosystems, name, version) tuple once, and after a change to
// the index re-evaluates only the tuples the changed advisories name.
//
// The rules follow the OSV specification's evaluation
// (https://ossf.github.io/osv-schema/#evaluation) and the distributions'
// conventions, with the pitfalls of shared/notes/matching-pitfalls.md:
//
//   - Ecosystems: os-release's names are mapped to OSV's, and both sides
//     are normalised (NormalizeEcosystem): "Ubuntu:22.04:LTS" is
//     "Ubuntu:22.04", "Debian:6.0" is "Debian:6", "Alpine:3.19.1" is
//     "Alpine:v3.19". Ubuntu Pro records apply only to Pro hosts.
//   - Keys: Debian, Ubuntu and Alpine match the source package name and
//     source version; AlmaLinux, Rocky Linux and Red Hat the binary rpm;
//     SUSE the source rpm and the binaries its records list. Never the
//     purl.
//   - Versions are ordered by the ecosystem's own rules (internal/version).
//     A missing epoch on either side never makes a finding; module-stream
//     builds are compared only with fixes of their own stream, FIPS builds
//     only with FIPS fixes; superseded kernels are not assessed.
//   - A finding lists every advisory and CVE that affects one installed
//     binary package, with the highest fixed version (FindingMissing); the
//     advisories without a fix make a second finding (FindingNoFix).
//     Severity is the highest of the CVSS base scores and the vendors'
//     ratings.
//   - Withdrawn records and Ubuntu livepatch notices are not indexed.
//   - Packages that look built by a third party (ThirdParty) are still
//     matched, but their findings are marked.
package assess
