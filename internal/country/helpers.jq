# Built-in jq helpers of opencrvs-mosip country configurations. They come
# before the file's own `jq:` definitions, which may redefine them.
# (mosipDate, mosipText, titleCase and compactTime are built in, in Go.)

# firstNonEmpty(a, b, ...): the first value of the stream that is neither
# null nor "", else null.
#   firstNonEmpty(.mother.name.full, .father.name.full)
def firstNonEmpty(f): first(f | select(. != null and . != "")) // null;

# primaryAddress: a person's PRIMARY_ADDRESS, else their first address, else
# null (also for a missing person).
#   .mother | primaryAddress | .district
def primaryAddress:
  first(.addresses[]? | select(.type == "PRIMARY_ADDRESS")) // first(.addresses[]?) // null;

# labelled: {a: 1, b: 2} -> [{label: "a", value: 1}, {label: "b", value: 2}],
# the shape of MOSIP packet metaData and operationsData.
def labelled: to_entries | map({label: .key, value: .value});

# mosipPhone($callingCode): a phone number as MOSIP's ID schema wants it
# (digits only, national form): the country calling code becomes the trunk
# prefix 0 and separators go. Anything else is left as it is.
#   .contact.phone | mosipPhone("+260")      "+260 97 123 4567" -> "0971234567"
def mosipPhone($callingCode):
  if type != "string" then .
  else gsub("[ ().-]"; "") as $p
    | if $callingCode != "" and ($p | startswith($callingCode)) then "0" + $p[($callingCode | length):] else $p end
  end;
