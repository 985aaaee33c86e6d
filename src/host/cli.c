/* placeholder */
extern int cvb_placeholder_cli;
