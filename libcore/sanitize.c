/* sanitize.c — only in sanitizer builds (make SANITIZE=1): keeps every
 * shared object loaded for the life of the process.
 *
 * Mesa's Vulkan drivers allocate small blocks once per process (from
 * pthread_once initializers) and keep them only in their own globals.
 * When the Vulkan loader unloads the driver at vkDestroyInstance, those
 * globals vanish and LeakSanitizer reports the blocks as leaks of an
 * "<unknown module>" — memory that is not dg's and that dg cannot free.
 * A dlclose that unloads nothing keeps the globals (so the blocks stay
 * reachable and unreported) without hiding any leak of dg's own: a block
 * dg allocates and loses is still unreachable and still reported, with a
 * symbolized stack (tests/t_lsan.c checks both).  libdg comes before libc
 * in every dg program's link order, so this definition wins for the
 * loader's calls too: it is the one symbol libdg exports outside its API
 * (visibility default; tests/symbols.t allows it in sanitizer builds). */
#ifdef DG_SANITIZE
int dlclose(void *handle) __attribute__((visibility("default")));

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int dg_sanitize_unused;
#endif
