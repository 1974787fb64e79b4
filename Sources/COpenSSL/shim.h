#ifndef MIIS_COPENSSL_SHIM_H
#define MIIS_COPENSSL_SHIM_H

/*
 * The only C in the project. OpenSSL 3 takes KDF parameters as OSSL_PARAM arrays whose names are
 * string macros and whose entries point at caller storage; building them here keeps every pointer
 * valid for the whole call, which Swift's temporary pointer conversions cannot promise.
 */

#include <stdint.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static inline int miis_kdf_derive(const char *name, OSSL_PARAM *params, unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return ok == 1;
}

/* scrypt (RFC 7914). max_memory caps what OpenSSL will allocate; the caller checks bounds first. */
static inline int miis_scrypt(const unsigned char *password, size_t password_len,
                              const unsigned char *salt, size_t salt_len,
                              uint64_t n, uint32_t r, uint32_t p, uint64_t max_memory,
                              unsigned char *out, size_t out_len) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password, password_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_memory),
        OSSL_PARAM_construct_end(),
    };
    return miis_kdf_derive(OSSL_KDF_NAME_SCRYPT, params, out, out_len);
}

/* PBKDF2 with HMAC-SHA-256 (RFC 8018). The SP 800-132 lower-bound checks are turned off so that the
 * published RFC 7914 vectors (1 iteration, short salts) can be reproduced; our own floor applies. */
static inline int miis_pbkdf2_sha256(const unsigned char *password, size_t password_len,
                                     const unsigned char *salt, size_t salt_len,
                                     uint64_t iterations, unsigned char *out, size_t out_len) {
    int no_pkcs5_checks = 1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password, password_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iterations),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &no_pkcs5_checks),
        OSSL_PARAM_construct_end(),
    };
    return miis_kdf_derive(OSSL_KDF_NAME_PBKDF2, params, out, out_len);
}

/* HKDF-SHA-256 extract-and-expand (RFC 5869). An empty salt means "no salt" (HashLen zeros). */
static inline int miis_hkdf_sha256(const unsigned char *ikm, size_t ikm_len,
                                   const unsigned char *salt, size_t salt_len,
                                   const unsigned char *info, size_t info_len,
                                   unsigned char *out, size_t out_len) {
    OSSL_PARAM params[5];
    size_t count = 0;
    params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len > 0)
        params[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[count] = OSSL_PARAM_construct_end();
    return miis_kdf_derive(OSSL_KDF_NAME_HKDF, params, out, out_len);
}

/* HMAC-SHA-256 through EVP_MAC. */
static inline int miis_hmac_sha256(const unsigned char *key, size_t key_len,
                                   const unsigned char *data, size_t data_len,
                                   unsigned char out[32]) {
    size_t out_len = 0;
    unsigned char *result = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
                                      data, data_len, out, 32, &out_len);
    return result != NULL && out_len == 32;
}

/* One HMAC-SHA-256 context for many MACs in a row (a key set's check values): HMAC and SHA-256 are
 * fetched once, when the context is made, instead of once per MAC as EVP_Q_mac does. Each MAC
 * re-keys the context (EVP_MAC_init with a key resets it); freeing it cleanses the last key. */
static inline EVP_MAC_CTX *miis_hmac_sha256_context_new(void) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static inline int miis_hmac_sha256_with(EVP_MAC_CTX *ctx, const unsigned char *key, size_t key_len,
                                        const unsigned char *data, size_t data_len, unsigned char out[32]) {
    size_t out_len = 0;
    if (EVP_MAC_init(ctx, key, key_len, NULL) != 1) return 0;
    if (EVP_MAC_update(ctx, data, data_len) != 1) return 0;
    if (EVP_MAC_final(ctx, out, &out_len, 32) != 1) return 0;
    return out_len == 32;
}

static inline void miis_hmac_sha256_context_free(EVP_MAC_CTX *ctx) { EVP_MAC_CTX_free(ctx); }

/* prctl is variadic, which Swift cannot call: no core dumps or same-user ptrace of secrets. */
#include <sys/prctl.h>
static inline int miis_set_non_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/* OPENSSL_free is a macro. */
static inline void miis_openssl_free(void *pointer) { OPENSSL_free(pointer); }

#endif
