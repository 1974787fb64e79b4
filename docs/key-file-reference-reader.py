#!/usr/bin/env python3
"""Independent reference reader for the miis key file (docs/key-file-format.md).

Usage: key-file-reference-reader.py VECTORS_DIR   -- checks every manifest entry; exit status = failures.
Written from the specification, not from the Swift code: where the two disagree, the specification
is unclear. A checking aid, not production code."""
import sys, json, hashlib, hmac, struct, unicodedata, uuid
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
MAGIC = bytes.fromhex("894d4949534b45590d0a1a0a")
class E(Exception): pass
def hkdf(ikm, info): return HKDF(hashes.SHA256(), 32, None, info).derive(ikm)
# Section 4.2: Cc, the bidi controls, U+2028/U+2029 and U+FEFF. Section 5.2 adds U+200B for accounts.
UNSAFE = set(range(0x20)) | set(range(0x7f, 0xa0)) | {0x61c, 0x200e, 0x200f, 0x2028, 0x2029, 0xfeff} \
    | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))
TRIMMED = {0x09, 0x20, 0xa0, 0x1680, 0x202f, 0x205f, 0x3000} | set(range(0x2000, 0x200b))       # section 5.2 step 1
WHITE_SPACE = set(range(0x09, 0x0e)) | {0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000} \
    | set(range(0x2000, 0x200b))                                                                # section 5.2 step 4
def nfc(s): return unicodedata.normalize("NFC", s)
def account_canonical(a):
    """Section 5.2; raises invalidInput.account."""
    i, j = 0, len(a)
    while i < j and ord(a[i]) in TRIMMED: i += 1
    while j > i and ord(a[j - 1]) in TRIMMED: j -= 1
    a = nfc("".join(c.lower() for c in nfc(a[i:j])))   # each code point alone: no Final_Sigma context
    if any(ord(c) in UNSAFE or ord(c) == 0x200b for c in a): raise E("invalidInput.account")
    parts = a.split("\\")
    if len(parts) > 2: raise E("invalidInput.account")
    domain, user = (None, parts[0]) if len(parts) == 1 else (parts[0] or None, parts[1])
    if user == "": raise E("invalidInput.account")
    for part in (domain, user):
        if part is not None and (ord(part[0]) in WHITE_SPACE or ord(part[-1]) in WHITE_SPACE): raise E("invalidInput.account")
    c = user if domain is None else domain + "\\" + user
    if len(c.encode()) > 256: raise E("invalidInput.account")
    return c
def password_bytes(text):
    """Section 5.1; raises invalidInput.password."""
    if "\r" in text or "\n" in text: raise E("invalidInput.password")
    b = nfc(text).encode()
    if not 1 <= len(b) <= 1024: raise E("invalidInput.password")
    return b
def password_from_input(raw):
    """Section 5.1: a password file or standard input."""
    raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw
    try: return password_bytes(raw.decode("utf-8"))
    except UnicodeDecodeError: raise E("invalidInput.password")
def text(v, least):
    try: t = v.decode("utf-8")
    except UnicodeDecodeError: raise E("corrupted.structure")
    if len(v) < least or any(ord(c) in UNSAFE for c in t): raise E("corrupted.structure")
    return t
def algorithm_field(v, lengths):
    """Sections 4.3 and 4.1 (field 6): at least the ID byte, a known ID, then its exact length."""
    if len(v) < 1: raise E("corrupted.structure")
    if v[0] not in lengths: raise E("unsupported.algorithm")
    if len(v) != lengths[v[0]]: raise E("corrupted.structure")
    return v
def sealed(b):
    """Section 7 steps 1-5: what inspect shows; returns the parsed pieces."""
    if len(b) > 8 << 20: raise E("corrupted.size")
    if not b.startswith(MAGIC):
        if len(b) < 12 and MAGIC.startswith(b): raise E("corrupted.truncated")
        raise E("corrupted.magic")
    if len(b) < 102: raise E("corrupted.truncated")
    if hashlib.sha256(b[:-32]).digest() != b[-32:]: raise E("corrupted.checksum")
    if b[12] != 1: raise E("unsupported.version")
    hlen = struct.unpack(">I", b[14:18])[0]
    if hlen > 2 << 20 or 18 + hlen + 36 > len(b) - 32: raise E("corrupted.structure")   # section 2.2
    h = b[18:18+hlen]; prefix = b[:18+hlen]
    fields = {}; prev = 0; o = 0
    caps = {1:(True,16),2:(True,8),3:(False,255),4:(True,256),5:(True,42),6:(True,13),7:(True,2+65535*15),8:(False,1024),9:(False,4)}
    while o < len(h):
        if o + 6 > len(h): raise E("corrupted.structure")
        t, l = struct.unpack(">HI", h[o:o+6]); n = t & 0x7fff; crit = bool(t & 0x8000)
        if n <= prev: raise E("corrupted.structure")
        prev = n
        if n not in caps:
            if crit: raise E("unsupported.critical-field")
            if l > 4096: raise E("corrupted.structure")
        elif crit != caps[n][0] or l > caps[n][1]: raise E("corrupted.structure")
        if o + 6 + l > len(h): raise E("corrupted.structure")
        fields[n] = h[o+6:o+6+l]; o += 6 + l
    if any(n not in fields for n in range(1, 8)): raise E("corrupted.structure")
    if len(fields[1]) != 16 or len(fields[2]) != 8: raise E("corrupted.structure")
    text(fields[3], 1)
    acct = text(fields[4], 1)
    try: canonical = account_canonical(acct)
    except E: raise E("corrupted.structure")
    if canonical != acct: raise E("corrupted.structure")
    kdf = algorithm_field(fields[5], {1: 42, 2: 37})
    nonce = algorithm_field(fields[6], {1: 13})[1:]
    ki = fields[7]; count = struct.unpack(">H", ki[:2])[0]
    if count == 0 or len(ki) != 2 + 15*count: raise E("corrupted.structure")
    index = []; previd = 0
    for i in range(count):
        kid, alg, st, fl, created = struct.unpack(">IBBBq", ki[2+15*i:2+15*i+15])
        if kid <= previd: raise E("corrupted.structure")
        if alg not in (1, 2): raise E("unsupported.algorithm")
        if st not in (1, 2, 3) or fl > 1: raise E("corrupted.structure")
        previd = kid; index.append((kid, alg, st, fl, created))
    prim = [k for k in index if k[3] == 1]
    if len(prim) != 1 or prim[0][2] != 1: raise E("corrupted.structure")
    if 8 in fields: text(fields[8], 0)
    # Section 4.5: generation 1 is the field's absence; present, exactly a u32 of at least 2.
    if 9 in fields and (len(fields[9]) != 4 or struct.unpack(">I", fields[9])[0] < 2): raise E("corrupted.structure")
    o = 18 + hlen
    mac = b[o:o+32]; plen = struct.unpack(">I", b[o+32:o+36])[0]
    if plen != 2 + 46*count + 16: raise E("corrupted.structure")
    if o + 36 + plen + 32 != len(b): raise E("corrupted.structure")
    return fields, acct, kdf, nonce, index, prefix, mac, b[o+36:o+36+plen]
def open_file(b, account, pw, allow_weak, verbose=False):
    fields, acct, kdf, nonce, index, prefix, mac, payload = sealed(b)
    if account != acct: raise E("wrongCredentials.account")
    ksalt = kdf[-32:] + acct.encode()
    if kdf[0] == 1:
        logn, r, p = kdf[1], *struct.unpack(">II", kdf[2:10])
        if not (logn >= 1 and r >= 1 and p >= 1): raise E("parametersOutOfBounds.invalid")
        if logn > 30 or r > 32 or p > 16 or 128*r*(1 << logn) > 1 << 30 or (1 << logn)*r*p > 1 << 24: raise E("parametersOutOfBounds.ceiling")
        if logn >= 16*r: raise E("parametersOutOfBounds.invalid")
        if logn < 15 and not allow_weak: raise E("parametersOutOfBounds.weak")
        master = hashlib.scrypt(pw, salt=ksalt, n=1 << logn, r=r, p=p, dklen=32, maxmem=(1 << 31) - 1)
    else:
        it = struct.unpack(">I", kdf[1:5])[0]
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
    if struct.unpack(">H", pt[:2])[0] != len(index): raise E("tampered.payload")
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
    # The manifest names the generation only where it is not 1 (section 4.5: 1 is the field's absence).
    if 9 in fields: result["generation"] = struct.unpack(">I", fields[9])[0]
    return result
def run(e, b):
    # Section 7, step 0: the credentials first, before the file is read.
    account = account_canonical(e["account"])
    pw = password_from_input(bytes.fromhex(e["passwordInputHex"])) if "passwordInputHex" in e else password_bytes(e["password"])
    if pw.hex() != e["passwordNFCHex"]: raise E("passwordNFCHex differs")
    if e.get("operation") == "inspect":
        sealed(b); return dict(outcome="success")
    return open_file(b, account, pw, e["policy"] == "allowWeak")

if __name__ == "__main__":
    d = sys.argv[1]; m = json.load(open(d + "/manifest.json")); bad = 0
    for e in m["entries"]:
        b = open(d + "/" + e["file"], "rb").read()
        try: got = run(e, b)
        except E as x: got = dict(outcome="error", code=str(x))
        exp = e["expected"]
        ok = got == exp if got["outcome"] == "success" and "keys" in got else \
             (exp["outcome"] == got["outcome"] == "success") or (exp["outcome"] == "error" and exp["code"] == got.get("code"))
        bad += not ok
        print("OK  " if ok else "BAD ", e["name"], "" if ok else (got, exp))
    sys.exit(bad)
