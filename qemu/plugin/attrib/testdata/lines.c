/* A residual in miniature: code whose #line directives point at the
 * generic path's sources, as the specializer's output does. */
int sink;

int residual(int n)
{
#line 10 "udp.c"
	sink += n * 3;
#line 20 "ip.c"
	sink ^= n << 2;
#line 30 "dev.c"
	return sink + 1;
}
