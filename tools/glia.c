#include "glia.h"
#include <stdio.h>
int main(void) { printf("glia %s\n", glia_version()); return 0; }
