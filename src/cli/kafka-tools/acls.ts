// kafka-acls.sh: Kastor has no authorizer yet (every client may do everything), so every invocation — to
// list, add or remove ACLs — fails with one line and exit code 1. Succeeding quietly would let a test or a
// deployment script believe its ACLs are in force.
export async function kafkaAcls(_argv: string[]): Promise<number> {
  console.error('kafka-acls.sh: ACLs are not supported yet: Kastor has no authorizer (every client may do everything), so ACLs can be neither listed, added nor removed');
  return 1;
}
