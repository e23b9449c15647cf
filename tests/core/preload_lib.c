/*
 * A library that knows nothing of ward: preload_program opens it with dlopen.
 * It allocates in its constructor, hands blocks to the program and frees
 * blocks of the program's, all through the standard names.
 */
#include <stdlib.h>
#include <string.h>

char *preload_lib_constructor_block(void);
char *preload_lib_make_string(size_t length);
void preload_lib_free(void *p);

static char *constructor_block;

__attribute__((constructor)) static void allocate_on_load(void)
{
    constructor_block = strdup("allocated by the library's constructor");
}

__attribute__((destructor)) static void free_on_unload(void)
{
    free(constructor_block);
}

char *preload_lib_constructor_block(void)
{
    return constructor_block;
}

char *preload_lib_make_string(size_t length)
{
    char *s = malloc(length + 1);
    if (s != NULL) {
        memset(s, 'w', length);
        s[length] = '\0';
    }
    return s;
}

void preload_lib_free(void *p)
{
    free(p);
}
