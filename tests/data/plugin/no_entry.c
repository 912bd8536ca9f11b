/* no_entry.c — a shared object without dg_family_entry: refused. */
int dg_family_entry_misspelt(void);
int dg_family_entry_misspelt(void)
{
	return 0;
}
