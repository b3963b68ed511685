package dev.scv.connect.transforms;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.connect.components.Versioned;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.transforms.Transformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replaces configured columns of Debezium change events by a keyed hash (HMAC-SHA256), so
 * customer names and addresses never reach Kafka in clear text while equal values still hash
 * equal (joins and counts keep working).
 *
 * <p>Why not Debezium's {@code column.mask.hash.v2.<alg>.with.salt.<salt>}: the salt is part of
 * the property <em>name</em>, config providers ({@code ${env:NAME}}) resolve values only, and
 * Connect logs every property when a task starts. Here the salt is a {@link ConfigDef.Type#PASSWORD
 * PASSWORD} value, {@code transforms.pii.secret=${env:SCV_PII_HASH_SALT}}: the worker resolves
 * it from its environment and prints {@code [hidden]} (Debezium's task log prints {@code ********}).
 *
 * <p>Configuration:
 *
 * <ul>
 *   <li>{@code secret} (password, required): the salt, used as the HMAC key (UTF-8), at least 16
 *       characters. A property named {@code salt} is refused: Debezium would log it in clear.
 *   <li>{@code fields} (list, required): {@code <schema>.<table>.<column>} entries, where schema is
 *       the captured PostgreSQL schema or MariaDB database as Debezium's {@code source} block
 *       names it ({@code source.schema}, else {@code source.db}).
 * </ul>
 *
 * <p>Output: the lowercase hex of HMAC-SHA256(key = salt as UTF-8, message = the column's value
 * as UTF-8), 64 characters. The value is hashed exactly as captured: no trimming, no case
 * folding. Null stays null. Both {@code before} and {@code after} are hashed; the record key is
 * not (a hashed column must not be part of the primary key). Only string columns can be hashed
 * (a configured non-string column fails the record). Everything that is not a change event of a
 * configured table passes through as the same record: tombstones, heartbeats, transaction
 * metadata, schema changes and other tables. The transform runs before the converter, so it
 * works on Connect {@link Struct}s whatever the converter.
 */
public final class HashPii<R extends ConnectRecord<R>> implements Transformation<R>, Versioned {

  /**
   * The salt's config name. It ends in {@code secret} because Debezium logs every property of
   * its task at start-up and masks only names ending in {@code secret} or {@code password}
   * ({@code io.debezium.config.Configuration.PASSWORD_PATTERN}); Connect itself masks it as a
   * PASSWORD either way.
   */
  public static final String SALT = "secret";
  /** A name Debezium's start-up log would print in clear: refused. */
  static final String LEAKY_SALT = "salt";
  public static final String FIELDS = "fields";
  public static final int MIN_SALT_LENGTH = 16;
  /** Bumped with every change of the output: a new version hashes to different values. */
  public static final String VERSION = "1";
  static final String ALGORITHM = "HmacSHA256";

  private static final Logger LOG = LoggerFactory.getLogger(HashPii.class);
  private static final Pattern FIELD = Pattern.compile("[^.\\s]+\\.[^.\\s]+\\.[^.\\s]+");
  private static final Pattern UNRESOLVED = Pattern.compile("\\$\\{[^}]*}");
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  public static final ConfigDef CONFIG_DEF =
      new ConfigDef()
          .define(
              SALT,
              ConfigDef.Type.PASSWORD,
              ConfigDef.NO_DEFAULT_VALUE,
              ConfigDef.Importance.HIGH,
              "HMAC-SHA256 key, at least "
                  + MIN_SALT_LENGTH
                  + " characters; give it as a config provider reference such as"
                  + " ${env:SCV_PII_HASH_SALT}, never inline.")
          .define(
              FIELDS,
              ConfigDef.Type.LIST,
              ConfigDef.NO_DEFAULT_VALUE,
              ConfigDef.Importance.HIGH,
              "Columns to hash, as <schema>.<table>.<column> (schema: source.schema, else"
                  + " source.db of the Debezium envelope).");

  /** Columns to hash, by {@code <schema>.<table>}. */
  private Map<String, Set<String>> columnsByTable = Map.of();

  private Mac mac;
  private final Set<String> warnedMissing = new HashSet<>();

  /** The validated configuration; Connect logs such objects with the salt as {@code [hidden]}. */
  public static final class Config extends AbstractConfig {
    public Config(Map<?, ?> props) {
      super(CONFIG_DEF, props, false);
    }

    Password salt() {
      return getPassword(SALT);
    }

    List<String> fields() {
      return getList(FIELDS);
    }
  }

  @Override
  public void configure(Map<String, ?> props) {
    if (props.containsKey(LEAKY_SALT)) {
      throw new ConfigException(
          LEAKY_SALT,
          "[hidden]",
          "give the salt as '" + SALT + "': Debezium logs a property named '" + LEAKY_SALT
              + "' in clear text when its task starts");
    }
    Config config = new Config(props);
    String salt = config.salt() == null ? null : config.salt().value();
    if (salt == null || salt.isBlank()) {
      throw new ConfigException(SALT, "[hidden]", "the salt is empty");
    }
    if (UNRESOLVED.matcher(salt).find()) {
      // An unknown ${env:NAME} stays as written. Not echoed: a real salt could contain "${".
      throw new ConfigException(
          SALT,
          "[hidden]",
          "the salt is an unresolved config provider reference (${...}): the Connect worker"
              + " has no such variable in its environment, or no such config provider");
    }
    if (salt.length() < MIN_SALT_LENGTH) {
      throw new ConfigException(
          SALT, "[hidden]", "the salt is shorter than " + MIN_SALT_LENGTH + " characters");
    }
    columnsByTable = parseFields(config.fields());
    try {
      mac = Mac.getInstance(ALGORITHM);
      mac.init(new SecretKeySpec(salt.getBytes(StandardCharsets.UTF_8), ALGORITHM));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new ConfigException("cannot initialise " + ALGORITHM + ": " + e.getMessage());
    }
  }

  static Map<String, Set<String>> parseFields(List<String> fields) {
    if (fields == null || fields.isEmpty()) {
      throw new ConfigException(FIELDS, fields, "list at least one <schema>.<table>.<column>");
    }
    Map<String, Set<String>> byTable = new HashMap<>();
    for (String field : fields) {
      String entry = field.trim();
      if (!FIELD.matcher(entry).matches()) {
        throw new ConfigException(
            FIELDS, field, "each entry is <schema>.<table>.<column>, e.g. wmwhse1.ORDERS.C_Company");
      }
      int cut = entry.lastIndexOf('.');
      byTable
          .computeIfAbsent(entry.substring(0, cut), k -> new HashSet<>())
          .add(entry.substring(cut + 1));
    }
    Map<String, Set<String>> frozen = new HashMap<>();
    byTable.forEach((table, columns) -> frozen.put(table, Collections.unmodifiableSet(columns)));
    return Collections.unmodifiableMap(frozen);
  }

  @Override
  public R apply(R record) {
    if (!(record.value() instanceof Struct envelope) || !isChangeEvent(envelope.schema())) {
      return record; // tombstone, heartbeat, transaction metadata, schema change, ...
    }
    Struct source = envelope.getStruct("source");
    if (source == null) {
      return record;
    }
    String table = qualifiedTable(source);
    Set<String> columns = table == null ? null : columnsByTable.get(table);
    if (columns == null) {
      return record;
    }
    Struct hashed = new Struct(envelope.schema());
    for (Field field : envelope.schema().fields()) {
      Object value = envelope.get(field);
      if ((field.name().equals("before") || field.name().equals("after")) && value != null) {
        value = hashImage(table, (Struct) value, columns);
      }
      hashed.put(field, value);
    }
    return record.newRecord(
        record.topic(),
        record.kafkaPartition(),
        record.keySchema(),
        record.key(),
        record.valueSchema(),
        hashed,
        record.timestamp(),
        record.headers());
  }

  private static boolean isChangeEvent(Schema schema) {
    return schema.type() == Schema.Type.STRUCT
        && schema.field("op") != null
        && schema.field("source") != null
        && schema.field("after") != null
        && schema.field("before") != null;
  }

  private static String qualifiedTable(Struct source) {
    Schema schema = source.schema();
    String namespace = null;
    if (schema.field("schema") != null) {
      namespace = source.getString("schema");
    }
    if (namespace == null && schema.field("db") != null) {
      namespace = source.getString("db");
    }
    String table = schema.field("table") != null ? source.getString("table") : null;
    return namespace == null || table == null ? null : namespace + "." + table;
  }

  private Struct hashImage(String table, Struct image, Set<String> columns) {
    Struct out = new Struct(image.schema());
    for (Field field : image.schema().fields()) {
      Object value = image.get(field);
      if (value != null && columns.contains(field.name())) {
        if (!(value instanceof String text)) {
          throw new DataException(
              "HashPii: column "
                  + table
                  + "."
                  + field.name()
                  + " is "
                  + field.schema().type()
                  + ", only string columns can be hashed");
        }
        value = hash(text);
      }
      out.put(field, value);
    }
    for (String column : columns) {
      if (image.schema().field(column) == null && warnedMissing.add(table + "." + column)) {
        LOG.warn("HashPii: configured column {}.{} is not in the captured row", table, column);
      }
    }
    return out;
  }

  /** Lowercase hex of HMAC-SHA256(salt, value as UTF-8). */
  String hash(String value) {
    byte[] digest = mac.doFinal(value.getBytes(StandardCharsets.UTF_8));
    char[] out = new char[digest.length * 2];
    for (int i = 0; i < digest.length; i++) {
      out[2 * i] = HEX[(digest[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[digest[i] & 0xf];
    }
    return new String(out);
  }

  /** The configured columns by table, for tests and diagnostics (no salt in it). */
  Map<String, Set<String>> columnsByTable() {
    return columnsByTable;
  }

  @Override
  public String version() {
    return VERSION;
  }

  @Override
  public ConfigDef config() {
    return CONFIG_DEF;
  }

  @Override
  public void close() {
    mac = null;
  }

  @Override
  public String toString() {
    return "HashPii{fields=" + new ArrayList<>(columnsByTable.keySet()) + ", salt=[hidden]}";
  }
}
