/* hactl: the operator tool for haiked (see hactl.h). */
#include <stdio.h>

#include "hactl.h"

int main(int argc, char **argv)
{
    int rc = hactl_main(argc, argv, stdout, stderr);
    if (fflush(stdout) != 0 && rc == HACTL_EXIT_OK)
        rc = HACTL_EXIT_ERROR;
    return rc;
}
