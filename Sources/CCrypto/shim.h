#ifndef GRADELINE_CCRYPTO_SHIM_H
#define GRADELINE_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
