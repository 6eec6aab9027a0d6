"""Golden LDAP PDUs captured from real clients with ``tests/ldap/golden/capture.py``.

Each constant is exactly what the named command sent to ``ldap://127.0.0.1:PORT``
(OpenLDAP 2.5 ``ldap-utils`` on Debian, and python-ldap over libldap). The listener answered
every request with success, so the clients carried on to their next PDU.
"""

from __future__ import annotations

# ldapsearch -x -H ldap://127.0.0.1:PORT -D 'uid=admin,ou=people,dc=example,dc=com' -w secret
#   -b 'dc=example,dc=com' '(&(objectClass=person)(|(uid=a*)(mail=x@y)))' cn mail
LDAPSEARCH_BIND = bytes.fromhex(
    "3037020101603202010304257569643d61646d696e2c6f753d70656f706c652c64633d6578616d706c65"
    "2c64633d636f6d8006736563726574"
)
LDAPSEARCH_SEARCH = bytes.fromhex(
    "30670201026362041164633d6578616d706c652c64633d636f6d0a01020a0100020100020100010100a0"
    "32a315040b6f626a656374436c6173730406706572736f6ea119a40a04037569643003800161a30b0404"
    "6d61696c0403784079300a0402636e04046d61696c"
)
LDAPSEARCH_UNBIND = bytes.fromhex("30050201034200")

# ldapsearch -x -H ldap://127.0.0.1:PORT -D 'uid=admin,ou=people,dc=example,dc=com' -w secret
#   -b 'dc=example,dc=com' -E pr=500/noprompt '(objectClass=*)'   (search PDU; bind as above)
LDAPSEARCH_PAGED_SEARCH = bytes.fromhex(
    "305c0201026331041164633d6578616d706c652c64633d636f6d0a01020a0100020100020100010100870b"
    "6f626a656374436c6173733000a02430220416312e322e3834302e3131333535362e312e342e33313904"
    "083006020201f40400"
)

# ldapsearch -x -H ldap://127.0.0.1:PORT -b 'ou=people,dc=example,dc=com' -s one -A -z 10
#   -l 5 -a always '(&(cn>=m)(sn<=z)(!(givenName~=bob))(cn=*a*b*\2a*z)
#   (uid:caseExactMatch:=J\28ohn\29)(:dn:2.5.13.5:=Admin))' '*' '+'
LDAPSEARCH_ANONYMOUS_BIND = bytes.fromhex("300c020101600702010304008000")
LDAPSEARCH_EVERY_FILTER = bytes.fromhex(
    "3081ab0201026381a5041b6f753d70656f706c652c64633d6578616d706c652c64633d636f6d0a01010a"
    "010302010a0201050101ffa06fa5070402636e04016da6070402736e04017aa212a8100409676976656e"
    "4e616d650403626f62a4120402636e300c81016181016281012a82017aa91d810e636173654578616374"
    "4d61746368820375696483064a286f686e29a9148108322e352e31332e35830541646d696e8401ff3006"
    "04012a04012b"
)

# ldapsearch -x -H ldap://127.0.0.1:PORT -b '' -s base '(objectClass=*)' namingContexts
#   supportedControl
LDAPSEARCH_ROOT_DSE = bytes.fromhex(
    "3047020102634204000a01000a0100020100020100010100870b6f626a656374436c6173733022040e6e"
    "616d696e67436f6e74657874730410737570706f72746564436f6e74726f6c"
)

# ldapsearch -x -H ldap://127.0.0.1:PORT -b 'dc=example,dc=com' -e '!manageDSAit' '(uid=x)'
LDAPSEARCH_MANAGE_DSA_IT = bytes.fromhex(
    "3053020102632e041164633d6578616d706c652c64633d636f6d0a01020a0100020100020100010100a3"
    "0804037569640401783000a01e301c0417322e31362e3834302e312e3131333733302e332e342e320101"
    "ff"
)

# ldapwhoami -x -H ldap://127.0.0.1:PORT -D 'cn=admin,dc=example,dc=com' -w 'p@ss word'
LDAPWHOAMI_BIND = bytes.fromhex(
    "302f020101602a020103041a636e3d61646d696e2c64633d6578616d706c652c64633d636f6d80097040"
    "737320776f7264"
)
LDAPWHOAMI_EXTENDED = bytes.fromhex(
    "301e02010277198017312e332e362e312e342e312e343230332e312e31312e33"
)

# ldapsearch -x -H ldap://127.0.0.1:PORT -ZZ -b 'dc=example,dc=com' '(uid=x)'
LDAPSEARCH_START_TLS = bytes.fromhex(
    "301d02010177188016312e332e362e312e342e312e313436362e3230303337"
)

# ldapcompare -x -H ldap://127.0.0.1:PORT 'uid=alice,ou=people,dc=example,dc=com'
#   'mail:alice@example.com'
LDAPCOMPARE = bytes.fromhex(
    "30470201026e4204257569643d616c6963652c6f753d70656f706c652c64633d6578616d706c652c6463"
    "3d636f6d301904046d61696c0411616c696365406578616d706c652e636f6d"
)

# ldapdelete -x -H ldap://127.0.0.1:PORT 'uid=bob,ou=people,dc=example,dc=com'
LDAPDELETE = bytes.fromhex(
    "30280201024a237569643d626f622c6f753d70656f706c652c64633d6578616d706c652c64633d636f6d"
)

# ldapmodrdn -x -H ldap://127.0.0.1:PORT -r 'uid=bob,ou=people,dc=example,dc=com' 'uid=robert'
LDAPMODRDN = bytes.fromhex(
    "30390201026c3404237569643d626f622c6f753d70656f706c652c64633d6578616d706c652c64633d63"
    "6f6d040a7569643d726f626572740101ff"
)

# ldapmodify -x -H ldap://127.0.0.1:PORT -f mod.ldif, where mod.ldif adds
# uid=carol,ou=people,dc=example,dc=com (objectClass: person, cn: Carol, sn: C), then
# modifies it: "replace: mail / mail: c@example.com / -" and "delete: sn / -".
LDAPMODIFY_ADD = bytes.fromhex(
    "3061020102685c04257569643d6361726f6c2c6f753d70656f706c652c64633d6578616d706c652c6463"
    "3d636f6d30333017040b6f626a656374436c61737331080406706572736f6e300d0402636e3107040543"
    "61726f6c30090402736e3103040143"
)
LDAPMODIFY_MODIFY = bytes.fromhex(
    "3059020103665404257569643d6361726f6c2c6f753d70656f706c652c64633d6578616d706c652c6463"
    "3d636f6d302b301c0a0102301704046d61696c310f040d63406578616d706c652e636f6d300b0a010130"
    "060402736e3100"
)

# python-ldap 3.4: c.simple_bind_s("uid=alice,ou=people,dc=example,dc=com", "hunter2")
PYTHON_LDAP_BIND = bytes.fromhex(
    "3038020101603302010304257569643d616c6963652c6f753d70656f706c652c64633d6578616d706c65"
    "2c64633d636f6d800768756e74657232"
)
# python-ldap: c.search_ext_s("ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE,
#   "(&(objectClass=inetOrgPerson)(memberOf=cn=admins,ou=groups,dc=example,dc=com))",
#   ["uid", "memberOf"],
#   serverctrls=[SimplePagedResultsControl(True, size=100, cookie=b"\x00\x01opaque")])
PYTHON_LDAP_PAGED_SEARCH = bytes.fromhex(
    "3081c6020102638190041b6f753d70656f706c652c64633d6578616d706c652c64633d636f6d0a01020a"
    "0100020100020100010100a051a31c040b6f626a656374436c617373040d696e65744f7267506572736f"
    "6ea33104086d656d6265724f660425636e3d61646d696e732c6f753d67726f7570732c64633d6578616d"
    "706c652c64633d636f6d300f040375696404086d656d6265724f66a02e302c0416312e322e3834302e31"
    "31333535362e312e342e3331390101ff040f300d020164040800016f7061717565"
)
# python-ldap: mid = c.search("dc=example,dc=com", ldap.SCOPE_BASE, "(objectClass=*)");
#   c.abandon(mid); c.unbind_s()
PYTHON_LDAP_BASE_SEARCH = bytes.fromhex(
    "30360201036331041164633d6578616d706c652c64633d636f6d0a01000a0100020100020100010100870b"
    "6f626a656374436c6173733000"
)
PYTHON_LDAP_ABANDON = bytes.fromhex("3006020104500103")
PYTHON_LDAP_UNBIND = bytes.fromhex("30050201054200")

ALL = (
    LDAPSEARCH_BIND,
    LDAPSEARCH_SEARCH,
    LDAPSEARCH_UNBIND,
    LDAPSEARCH_PAGED_SEARCH,
    LDAPSEARCH_ANONYMOUS_BIND,
    LDAPSEARCH_EVERY_FILTER,
    LDAPSEARCH_ROOT_DSE,
    LDAPSEARCH_MANAGE_DSA_IT,
    LDAPWHOAMI_BIND,
    LDAPWHOAMI_EXTENDED,
    LDAPSEARCH_START_TLS,
    LDAPCOMPARE,
    LDAPDELETE,
    LDAPMODRDN,
    LDAPMODIFY_ADD,
    LDAPMODIFY_MODIFY,
    PYTHON_LDAP_BIND,
    PYTHON_LDAP_PAGED_SEARCH,
    PYTHON_LDAP_BASE_SEARCH,
    PYTHON_LDAP_ABANDON,
    PYTHON_LDAP_UNBIND,
)
