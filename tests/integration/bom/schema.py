#!/usr/bin/env python3
"""The rules of the published JSON schemas a BOM must follow, written out
(stdlib only, no download), for tests/integration/bom.sh.

  schema.py cyclonedx FILE [IDS]     CycloneDX 1.5 (bom-1.5.schema.json)
  schema.py spdx FILE [IDS]          SPDX 2.3 (spdx-schema.json of SPDX 2.3)

IDS: CycloneDX's spdx.schema.json (its enum: the SPDX license list), which
license ids and the ids in license expressions must come from.

Prints each violation with its JSON path and exits 1 when there is any.
"""
import json
import re
import sys

errors = []


def err(path, msg):
    errors.append(f"{path}: {msg}")


def need(obj, path, key, kind):
    if key not in obj:
        err(path, f"required property '{key}' missing")
        return None
    if not isinstance(obj[key], kind):
        err(f"{path}.{key}", f"not a {kind.__name__ if isinstance(kind, type) else kind}")
        return None
    return obj[key]


def only(obj, path, allowed):
    for k in obj:
        if k not in allowed:
            err(path, f"additional property '{k}' not allowed")


DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# ---- CycloneDX 1.5 -----------------------------------------------------
# bom-1.5.schema.json: top-level "required": ["bomFormat", "specVersion"],
# additionalProperties false; bomFormat enum ["CycloneDX"]; serialNumber
# pattern "^urn:uuid:[0-9a-f]{8}-...$"; version integer minimum 1.
CDX_TOP = {"$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata", "components",
           "services", "externalReferences", "dependencies", "compositions", "properties",
           "vulnerabilities", "annotations", "formulation", "signature"}
# definitions/component: required ["type", "name"], additionalProperties false
CDX_COMPONENT = {"type", "mime-type", "bom-ref", "supplier", "author", "publisher", "group", "name", "version",
                 "description", "scope", "hashes", "licenses", "copyright", "cpe", "purl", "swid", "modified",
                 "pedigree", "externalReferences", "properties", "components", "evidence", "releaseNotes",
                 "modelCard", "data", "signature"}
# definitions/component/type enum (1.5)
CDX_TYPES = {"application", "framework", "library", "container", "platform", "operating-system", "device",
             "device-driver", "firmware", "file", "machine-learning-model", "data"}
SERIAL = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


LICENSE_IDS = None  # the SPDX license list, when given


def license_expression(expr, path):
    """SPDX 2.3 Annex D: ids of the list (a "+" suffix allowed),
    LicenseRef-[idstring], AND / OR / WITH, balanced parentheses."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)
    depth, want_id = 0, True
    for t in tokens:
        if t == "(" and want_id:
            depth += 1
        elif t == ")" and not want_id and depth > 0:
            depth -= 1
        elif want_id and (re.fullmatch(r"LicenseRef-[A-Za-z0-9.\-]+", t) or
                          (LICENSE_IDS is None or t.rstrip("+") in LICENSE_IDS) and re.fullmatch(r"[A-Za-z0-9.\-]+\+?", t)):
            want_id = False
        elif not want_id and t in ("AND", "OR", "WITH"):
            want_id = True
        else:
            return err(path, f"'{expr}' is not an SPDX license expression of listed ids (annex D): at '{t}'")
    if want_id or depth:
        err(path, f"'{expr}' is an incomplete SPDX license expression (annex D)")


def cdx_license_choice(lics, path):
    # definitions/licenseChoice: an array of {"license": license} items, or
    # a single {"expression": ...}; license: oneOf required id / name
    if not isinstance(lics, list):
        return err(path, "licenses is not an array")
    for i, l in enumerate(lics):
        p = f"{path}[{i}]"
        if not isinstance(l, dict) or len(set(l) & {"license", "expression"}) != 1:
            err(p, "a licenseChoice item needs exactly one of license / expression")
            continue
        if "license" in l:
            lic = l["license"]
            if not isinstance(lic, dict) or len(set(lic) & {"id", "name"}) != 1:
                err(p + ".license", "needs exactly one of id / name (oneOf)")
            for k in ("id", "name"):
                if k in lic and (not isinstance(lic[k], str) or not lic[k]):
                    err(p + ".license." + k, "not a non-empty string")
            # definitions/license/id: {"$ref": "spdx.schema.json"}, its enum
            if LICENSE_IDS is not None and isinstance(lic, dict) and "id" in lic and lic["id"] not in LICENSE_IDS:
                err(p + ".license.id", f"'{lic['id']}' is not in spdx.schema.json's enum")
        else:
            if not isinstance(l["expression"], str):
                err(p + ".expression", "not a string")
            else:
                license_expression(l["expression"], p + ".expression")
    if any("expression" in l for l in lics if isinstance(l, dict)) and len(lics) > 1:
        err(path, "an expression must be the only licenseChoice item")


def cdx_component(c, path, refs):
    if not isinstance(c, dict):
        return err(path, "not an object")
    only(c, path, CDX_COMPONENT)
    t = need(c, path, "type", str)
    if t is not None and t not in CDX_TYPES:
        err(path + ".type", f"'{t}' not in the 1.5 enum")
    need(c, path, "name", str)
    for k in ("version", "purl", "bom-ref", "description", "group"):
        if k in c and not isinstance(c[k], str):
            err(f"{path}.{k}", "not a string")
    if "purl" in c and not c["purl"].startswith("pkg:"):
        err(path + ".purl", "not a package URL")
    if "bom-ref" in c:
        # definitions/refType: a bom-ref must be unique within the BOM
        if c["bom-ref"] in refs:
            err(path + ".bom-ref", f"duplicate bom-ref {c['bom-ref']}")
        refs.add(c["bom-ref"])
    if "licenses" in c:
        cdx_license_choice(c["licenses"], path + ".licenses")
    for i, p in enumerate(c.get("properties", [])):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or \
                ("value" in p and not isinstance(p["value"], str)):
            err(f"{path}.properties[{i}]", "a property needs a string name (and a string value)")
        else:
            only(p, f"{path}.properties[{i}]", {"name", "value"})
    for i, s in enumerate(c.get("components", [])):
        cdx_component(s, f"{path}.components[{i}]", refs)


def cyclonedx(doc):
    if not isinstance(doc, dict):
        return err("$", "not an object")
    only(doc, "$", CDX_TOP)
    if doc.get("bomFormat") != "CycloneDX":
        err("$.bomFormat", "must be 'CycloneDX'")
    if doc.get("specVersion") != "1.5":
        err("$.specVersion", "must be '1.5'")
    if "serialNumber" in doc and not SERIAL.match(str(doc["serialNumber"])):
        err("$.serialNumber", "does not match ^urn:uuid:...$")
    v = doc.get("version", 1)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        err("$.version", "integer >= 1")
    refs = set()
    meta = doc.get("metadata", {})
    only(meta, "$.metadata", {"timestamp", "lifecycles", "tools", "authors", "component", "manufacture",
                              "supplier", "licenses", "properties"})
    if "timestamp" in meta and not DATE_TIME.match(str(meta["timestamp"])):
        err("$.metadata.timestamp", "not an RFC 3339 date-time")
    tools = meta.get("tools")
    # 1.5: tools is {"components": [...], "services": [...]} (or the legacy array)
    if isinstance(tools, dict):
        only(tools, "$.metadata.tools", {"components", "services"})
        for i, c in enumerate(tools.get("components", [])):
            cdx_component(c, f"$.metadata.tools.components[{i}]", set())
    if "component" in meta:
        cdx_component(meta["component"], "$.metadata.component", refs)
    comps = doc.get("components", [])
    if not isinstance(comps, list):
        err("$.components", "not an array")
        comps = []
    for i, c in enumerate(comps):
        cdx_component(c, f"$.components[{i}]", refs)
    # definitions/dependency: required ["ref"], dependsOn uniqueItems,
    # refs point at bom-refs of this BOM
    seen = set()
    for i, d in enumerate(doc.get("dependencies", [])):
        p = f"$.dependencies[{i}]"
        if not isinstance(d, dict) or not isinstance(d.get("ref"), str):
            err(p, "required property 'ref' missing")
            continue
        only(d, p, {"ref", "dependsOn"})
        if d["ref"] not in refs:
            err(p + ".ref", f"{d['ref']} is no bom-ref of this BOM")
        if d["ref"] in seen:
            err(p + ".ref", "listed twice")
        seen.add(d["ref"])
        on = d.get("dependsOn", [])
        if len(on) != len(set(on)):
            err(p + ".dependsOn", "items not unique")
        for r in on:
            if r not in refs:
                err(p + ".dependsOn", f"{r} is no bom-ref of this BOM")


# ---- SPDX 2.3 ----------------------------------------------------------
# spdx-schema.json (2.3): required ["SPDXID", "creationInfo", "dataLicense",
# "name", "spdxVersion"]; packages[]: required ["SPDXID", "name",
# "downloadLocation"]; relationships[]: required ["spdxElementId",
# "relationshipType"]; externalRefs[]: required ["referenceCategory",
# "referenceLocator", "referenceType"]. Spec clause 6.3 SPDXID of the
# document is "SPDXRef-DOCUMENT"; 7.2 "SPDXRef-"[idstring], idstring of
# letters, digits, "." and "-"; 6.5 documentNamespace a URI without "#";
# 6.8/6.9 creators "Person: " / "Organization: " / "Tool: ".
SPDX_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
SPDX_TOP = {"SPDXID", "annotations", "comment", "creationInfo", "dataLicense",
            "externalDocumentRefs", "hasExtractedLicensingInfos", "name", "revieweds", "spdxVersion",
            "documentNamespace", "documentDescribes", "packages", "files", "snippets", "relationships"}
SPDX_PACKAGE = {"SPDXID", "annotations", "attributionTexts", "builtDate", "checksums", "comment",
                "copyrightText", "description", "downloadLocation", "externalRefs", "filesAnalyzed",
                "hasFiles", "homepage", "licenseComments", "licenseConcluded", "licenseDeclared",
                "licenseInfoFromFiles", "name", "originator", "packageFileName",
                "packageVerificationCode", "primaryPackagePurpose", "releaseDate", "sourceInfo", "summary",
                "supplier", "validUntilDate", "versionInfo"}
# 11.1 relationship types (the schema's enum)
SPDX_RELS = {"VARIANT_OF", "COPY_OF", "PATCH_FOR", "TEST_DEPENDENCY_OF", "CONTAINED_BY", "DATA_FILE_OF",
             "OPTIONAL_COMPONENT_OF", "ANCESTOR_OF", "GENERATES", "CONTAINS", "OPTIONAL_DEPENDENCY_OF",
             "FILE_ADDED", "REQUIREMENT_DESCRIPTION_FOR", "DEV_DEPENDENCY_OF", "DEPENDENCY_OF",
             "BUILD_DEPENDENCY_OF", "DESCRIBES", "PREREQUISITE_FOR", "HAS_PREREQUISITE", "PROVIDED_DEPENDENCY_OF",
             "DYNAMIC_LINK", "DESCRIBED_BY", "METAFILE_OF", "DEPENDENCY_MANIFEST_OF", "PATCH_APPLIED",
             "RUNTIME_DEPENDENCY_OF", "TEST_OF", "TEST_TOOL_OF", "DEPENDS_ON", "SPECIFICATION_FOR",
             "FILE_MODIFIED", "DISTRIBUTION_ARTIFACT", "AMENDS", "DOCUMENTATION_OF", "GENERATED_FROM",
             "STATIC_LINK", "OTHER", "BUILD_TOOL_OF", "TEST_CASE_OF", "PACKAGE_OF", "DESCENDANT_OF",
             "FILE_DELETED", "EXPANDED_FROM_ARCHIVE", "DEV_TOOL_OF", "EXAMPLE_OF", "FILE_OF"}
SPDX_REF_CATEGORIES = {"OTHER", "PERSISTENT-ID", "PERSISTENT_ID", "SECURITY", "PACKAGE-MANAGER",
                       "PACKAGE_MANAGER"}


def spdx(doc):
    if not isinstance(doc, dict):
        return err("$", "not an object")
    only(doc, "$", SPDX_TOP)
    for k in ("SPDXID", "creationInfo", "dataLicense", "name", "spdxVersion"):
        if k not in doc:
            err("$", f"required property '{k}' missing")
    if doc.get("spdxVersion") != "SPDX-2.3":
        err("$.spdxVersion", "must be 'SPDX-2.3'")
    if doc.get("dataLicense") != "CC0-1.0":
        err("$.dataLicense", "must be 'CC0-1.0' (clause 6.2)")
    if doc.get("SPDXID") != "SPDXRef-DOCUMENT":
        err("$.SPDXID", "must be 'SPDXRef-DOCUMENT' (clause 6.3)")
    ns = doc.get("documentNamespace", "")
    if not re.match(r"^[a-z][a-z0-9+.-]*://[^#\s]+$", ns):
        err("$.documentNamespace", "not a URI without '#' (clause 6.5)")
    ci = doc.get("creationInfo", {})
    only(ci, "$.creationInfo", {"comment", "created", "creators", "licenseListVersion"})
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", str(ci.get("created"))):
        err("$.creationInfo.created", "not YYYY-MM-DDThh:mm:ssZ (clause 6.9)")
    creators = ci.get("creators")
    if not isinstance(creators, list) or not creators:
        err("$.creationInfo.creators", "minItems 1")
    else:
        for c in creators:
            if not re.match(r"^(Person|Organization|Tool): \S", str(c)):
                err("$.creationInfo.creators", f"'{c}' is not Person:/Organization:/Tool: (clause 6.8)")
    ids = {"SPDXRef-DOCUMENT"}
    for i, p in enumerate(doc.get("packages", [])):
        path = f"$.packages[{i}]"
        only(p, path, SPDX_PACKAGE)
        for k in ("SPDXID", "name", "downloadLocation"):
            if not isinstance(p.get(k), str):
                err(path, f"required property '{k}' missing")
        sid = p.get("SPDXID", "")
        if not SPDX_ID.match(sid):
            err(path + ".SPDXID", f"'{sid}' does not match SPDXRef-[idstring] (clause 7.2)")
        if sid in ids:
            err(path + ".SPDXID", "not unique")
        ids.add(sid)
        # 7.13 / 7.15: an SPDX license expression, NONE or NOASSERTION
        for k in ("licenseConcluded", "licenseDeclared"):
            if k in p and p[k] not in ("NONE", "NOASSERTION"):
                license_expression(str(p[k]), f"{path}.{k}")
        if "filesAnalyzed" in p and not isinstance(p["filesAnalyzed"], bool):
            err(path + ".filesAnalyzed", "not a boolean")
        for j, r in enumerate(p.get("externalRefs", [])):
            rp = f"{path}.externalRefs[{j}]"
            only(r, rp, {"comment", "referenceCategory", "referenceLocator", "referenceType"})
            for k in ("referenceCategory", "referenceLocator", "referenceType"):
                if not isinstance(r.get(k), str):
                    err(rp, f"required property '{k}' missing")
            if r.get("referenceCategory") not in SPDX_REF_CATEGORIES:
                err(rp + ".referenceCategory", "not in the enum")
            if r.get("referenceType") == "purl" and not str(r.get("referenceLocator")).startswith("pkg:"):
                err(rp + ".referenceLocator", "a purl reference that is no purl (annex F)")
    for i, r in enumerate(doc.get("relationships", [])):
        path = f"$.relationships[{i}]"
        only(r, path, {"comment", "relatedSpdxElement", "relationshipType", "spdxElementId"})
        if r.get("relationshipType") not in SPDX_RELS:
            err(path + ".relationshipType", f"'{r.get('relationshipType')}' not in the enum")
        for k in ("spdxElementId", "relatedSpdxElement"):
            if r.get(k) not in ids:
                err(path + "." + k, f"{r.get(k)} names no element of this document (clause 11.1)")


def main():
    global LICENSE_IDS
    kind, path = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            LICENSE_IDS = set(json.load(f)["enum"])
    with open(path) as f:
        doc = json.load(f)
    {"cyclonedx": cyclonedx, "spdx": spdx}[kind](doc)
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
