#!/usr/bin/env python3
"""Independent reference reader for the miis key file (docs/key-file-format.md).

Usage: key-file-reference-reader.py VECTORS_DIR   -- checks every manifest entry; exit status = failures.
A checking aid for the specification, not production code."""
import sys, json, hashlib, hmac, struct, unicodedata, uuid
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
MAGIC = bytes.fromhex("894d4949534b45590d0a1a0a")
class E(Exception): pass
def hkdf(ikm, info): return HKDF(hashes.SHA256(), 32, None, info).derive(ikm)
def account_canonical(a):
    a = unicodedata.normalize("NFC", unicodedata.normalize("NFC", a).lower())
    parts = a.split("\\")
    if len(parts) == 1: return parts[0]
    if len(parts) == 2: return parts[1] if parts[0] == "" else parts[0] + "\\" + parts[1]
    raise E("account")
# Section 4.2: control (Cc), bidi controls, line and paragraph separators.
UNSAFE = set(range(0x20)) | set(range(0x7f, 0xa0)) | {0x61c, 0x200e, 0x200f, 0x2028, 0x2029} | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))
def text(v, least):
    try: t = v.decode("utf-8")
    except UnicodeDecodeError: raise E("corrupted.structure")
    if len(v) < least or any(ord(c) in UNSAFE for c in t): raise E("corrupted.structure")
    return t
def open_file(b, account, password, allow_weak, verbose=False):
    if not b.startswith(MAGIC):
        if len(b) < 12 and MAGIC.startswith(b): raise E("corrupted.truncated")
        raise E("corrupted.magic")
    if len(b) > 8 << 20: raise E("corrupted.size")
    if len(b) < 102: raise E("corrupted.truncated")
    if hashlib.sha256(b[:-32]).digest() != b[-32:]: raise E("corrupted.checksum")
    major, minor = b[12], b[13]
    if major != 1: raise E("unsupported.version")
    hlen = struct.unpack(">I", b[14:18])[0]
    if hlen > 2 << 20 or 18 + hlen > len(b): raise E("corrupted.structure")
    h = b[18:18+hlen]; prefix = b[:18+hlen]
    fields = {}; prev = 0; o = 0
    known = {1:(True,16),2:(True,8),3:(False,255),4:(True,256),5:(True,42),6:(True,13),7:(True,2+65535*15),8:(False,1024),9:(False,4)}
    while o < len(h):
        if o + 6 > len(h): raise E("corrupted.structure")
        t, l = struct.unpack(">HI", h[o:o+6]); n = t & 0x7fff; crit = bool(t & 0x8000)
        if n <= prev: raise E("corrupted.structure")
        prev = n
        if n not in known:
            if crit: raise E("unsupported.critical-field")
            if l > 4096: raise E("corrupted.structure")
        else:
            if crit != known[n][0] or l > known[n][1]: raise E("corrupted.structure")
        if o + 6 + l > len(h): raise E("corrupted.structure")
        fields[n] = h[o+6:o+6+l]; o += 6 + l
    for n in range(1, 8):
        if n not in fields: raise E("corrupted.structure")
    if len(fields[1]) != 16 or len(fields[2]) != 8: raise E("corrupted.structure")
    text(fields[3], 1)
    acct = text(fields[4], 1)
    if account_canonical(acct) != acct: raise E("corrupted.structure")
    kdf = fields[5]
    if kdf[0] == 1:
        if len(kdf) != 42: raise E("corrupted.structure")
        logn, r, p = kdf[1], *struct.unpack(">II", kdf[2:10]); salt = kdf[10:]
    elif kdf[0] == 2:
        if len(kdf) != 37: raise E("corrupted.structure")
        it = struct.unpack(">I", kdf[1:5])[0]; salt = kdf[5:]
    else: raise E("unsupported.algorithm")
    c = fields[6]
    if c[0] != 1: raise E("unsupported.algorithm")
    if len(c) != 13: raise E("corrupted.structure")
    nonce = c[1:]
    ki = fields[7]; count = struct.unpack(">H", ki[:2])[0]
    if len(ki) != 2 + 15*count or count == 0: raise E("corrupted.structure")
    index = []; previd = 0
    for i in range(count):
        e = ki[2+15*i:2+15*i+15]
        kid, alg, st, fl, created = struct.unpack(">IBBBq", e)
        if alg not in (1, 2): raise E("unsupported.algorithm")
        if st not in (1, 2, 3) or fl > 1 or kid <= previd: raise E("corrupted.structure")
        previd = kid; index.append((kid, alg, st, fl, created))
    prim = [k for k in index if k[3] == 1]
    if len(prim) != 1 or prim[0][2] != 1: raise E("corrupted.structure")
    if 8 in fields: text(fields[8], 0)
    # Section 4.5: generation 1 is the field's absence; present, exactly a u32 of at least 2.
    generation = 1
    if 9 in fields:
        if len(fields[9]) != 4: raise E("corrupted.structure")
        generation = struct.unpack(">I", fields[9])[0]
        if generation < 2: raise E("corrupted.structure")
    o = 18 + hlen; mac = b[o:o+32]; plen = struct.unpack(">I", b[o+32:o+36])[0]
    if plen != 2 + 46*count + 16: raise E("corrupted.structure")
    payload = b[o+36:o+36+plen]
    if o + 36 + plen + 32 != len(b): raise E("corrupted.structure")
    if account_canonical(account) != acct: raise E("wrongCredentials.account")
    pw = unicodedata.normalize("NFC", password).encode()
    ksalt = salt + acct.encode()
    if kdf[0] == 1:
        if not (logn >= 1 and r >= 1 and p >= 1): raise E("parametersOutOfBounds.invalid")
        if logn > 30 or r > 32 or p > 16 or 128*r*(1 << logn) > 1 << 30: raise E("parametersOutOfBounds.ceiling")
        if logn >= 16*r: raise E("parametersOutOfBounds.invalid")
        if logn < 15 and not allow_weak: raise E("parametersOutOfBounds.weak")
        master = hashlib.scrypt(pw, salt=ksalt, n=1 << logn, r=r, p=p, dklen=32, maxmem=(1 << 31) - 1)
    else:
        if it < 1: raise E("parametersOutOfBounds.invalid")
        if it > 10_000_000: raise E("parametersOutOfBounds.ceiling")
        if it < 310_000 and not allow_weak: raise E("parametersOutOfBounds.weak")
        master = hashlib.pbkdf2_hmac("sha256", pw, ksalt, it, 32)
    mk = hkdf(master, b"miis-keyfile v1 header mac"); pk = hkdf(master, b"miis-keyfile v1 payload key")
    if not hmac.compare_digest(hmac.new(mk, prefix, hashlib.sha256).digest(), mac): raise E("wrongCredentials.header-mac")
    try: pt = AESGCM(pk).decrypt(nonce, payload, prefix)
    except Exception: raise E("tampered.payload")
    if verbose:
        print("master", master.hex()); print("mac key", mk.hex()); print("payload key", pk.hex()); print("plaintext", pt.hex())
    if struct.unpack(">H", pt[:2])[0] != count: raise E("tampered.payload")
    keys = []; o = 2
    for (kid, alg, st, fl, created) in index:
        pid, ln = struct.unpack(">IH", pt[o:o+6])
        if pid != kid or ln != 32: raise E("tampered.payload")
        mat = pt[o+6:o+38]; cv = pt[o+38:o+46]; o += 46
        if hmac.new(mat, b"miis-keyfile v1 check value", hashlib.sha256).digest()[:8] != cv: raise E("tampered.payload")
        keys.append(dict(id=kid, checkValue=cv.hex(), primary=fl == 1, algorithm={1:"AES-256-GCM",2:"HMAC-SHA-256"}[alg],
                         status={1:"active",2:"retired",3:"disabled"}[st], createdAt=created))
    fp = hashlib.sha256(b"miis-keyfile v1 key-set fingerprint" + fields[1] + b"".join(struct.pack(">I", k["id"]) + bytes.fromhex(k["checkValue"]) for k in keys)).hexdigest()
    result = dict(outcome="success", keySetID=str(uuid.UUID(bytes=fields[1])), fingerprint=fp, keys=keys)
    # The manifest names the generation only where it is not 1.
    if generation != 1: result["generation"] = generation
    return result

if __name__ == "__main__":
    d = sys.argv[1]; m = json.load(open(d + "/manifest.json")); bad = 0
    for e in m["entries"]:
        b = open(d + "/" + e["file"], "rb").read()
        try: got = open_file(b, e["account"], e["password"], e["policy"] == "allowWeak")
        except E as x: got = dict(outcome="error", code=str(x))
        exp = e["expected"]
        ok = got == exp if got["outcome"] == "success" else (exp["outcome"] == "error" and exp["code"] == got["code"])
        bad += not ok
        print("OK  " if ok else "BAD ", e["name"], "" if ok else (got, exp))
    sys.exit(bad)
