/* f16.h: IEEE 754 half precision (binary16) <-> float, for safetensors' F16 tensors and the
 * packed weights file's scales. */
#ifndef GLIA_IO_F16_H
#define GLIA_IO_F16_H
#include <stdint.h>

float glia__f16_to_float(uint16_t h);      /* exact */
uint16_t glia__f16_from_float(float f);    /* rounded to nearest, ties to even; above 65504
                                              (from 65520 on) gives inf, NaN a NaN */
#endif
