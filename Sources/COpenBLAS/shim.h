#ifndef GRADELINE_COPENBLAS_SHIM_H
#define GRADELINE_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface, plus openblas_set_num_threads.
#include <cblas.h>
#endif
