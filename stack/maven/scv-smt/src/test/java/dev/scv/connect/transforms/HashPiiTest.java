package dev.scv.connect.transforms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/**
 * HashPii on Structs shaped like Debezium's (envelope, source block, row images), the way the
 * transform sees them before the JSON converter. Expected hashes were computed independently:
 * {@code hmac.new(b"test-salt-0123456789", value.encode(), hashlib.sha256).hexdigest()}.
 */
class HashPiiTest {

  static final String SALT = "test-salt-0123456789";
  static final String ACME = "a6d8f10bab616289afedbc0ab74d8c53fd46876b36339365de48269477830509";
  static final String HARBOUR = "4f06d95326e5cc6c2a5bb1b203771ff3f8749afe6d5af509a45a67ff3442a48b";
  static final String CAFE = "769d9b499bc3a13f8c2aceecc81397a389be25c099625651c623bf9a77d86ded";

  static final Schema ROW =
      SchemaBuilder.struct()
          .name("wms.wmwhse1.ORDERS.Value")
          .optional()
          .field("OrderKey", Schema.STRING_SCHEMA)
          .field("C_Company", Schema.OPTIONAL_STRING_SCHEMA)
          .field("C_Address1", Schema.STRING_SCHEMA)
          .field("C_City", Schema.OPTIONAL_STRING_SCHEMA)
          .field("Qty", Schema.INT32_SCHEMA)
          .build();

  static final Schema MARIADB_SOURCE =
      SchemaBuilder.struct()
          .name("io.debezium.connector.mariadb.Source")
          .field("version", Schema.STRING_SCHEMA)
          .field("connector", Schema.STRING_SCHEMA)
          .field("db", Schema.STRING_SCHEMA)
          .field("table", Schema.OPTIONAL_STRING_SCHEMA)
          .build();

  static final Schema POSTGRES_SOURCE =
      SchemaBuilder.struct()
          .name("io.debezium.connector.postgresql.Source")
          .field("version", Schema.STRING_SCHEMA)
          .field("connector", Schema.STRING_SCHEMA)
          .field("db", Schema.STRING_SCHEMA)
          .field("schema", Schema.STRING_SCHEMA)
          .field("table", Schema.STRING_SCHEMA)
          .build();

  static Schema envelope(Schema source) {
    return SchemaBuilder.struct()
        .name("wms.wmwhse1.ORDERS.Envelope")
        .field("before", ROW)
        .field("after", ROW)
        .field("source", source)
        .field("op", Schema.STRING_SCHEMA)
        .field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA)
        .build();
  }

  static final Schema ENVELOPE = envelope(MARIADB_SOURCE);
  static final Schema KEY = SchemaBuilder.struct().field("OrderKey", Schema.STRING_SCHEMA).build();

  static Struct row(String company, String address, String city) {
    return new Struct(ROW)
        .put("OrderKey", "0000000042")
        .put("C_Company", company)
        .put("C_Address1", address)
        .put("C_City", city)
        .put("Qty", 7);
  }

  static Struct mariaSource(String db, String table) {
    return new Struct(MARIADB_SOURCE)
        .put("version", "3.5.0.Final")
        .put("connector", "mariadb")
        .put("db", db)
        .put("table", table);
  }

  static SourceRecord record(Schema schema, Struct value) {
    Struct key = new Struct(KEY).put("OrderKey", "0000000042");
    return new SourceRecord(
        Map.of("server", "wms"),
        Map.of("pos", 1L),
        "wms.wmwhse1.ORDERS",
        1,
        KEY,
        key,
        schema,
        value,
        1_700_000_000_000L);
  }

  static SourceRecord change(String op, Struct before, Struct after, Struct source) {
    Struct value =
        new Struct(ENVELOPE)
            .put("before", before)
            .put("after", after)
            .put("source", source)
            .put("op", op)
            .put("ts_ms", 1_700_000_000_123L);
    return record(ENVELOPE, value);
  }

  static HashPii<SourceRecord> transform(String fields) {
    Map<String, Object> props = new HashMap<>();
    props.put("secret", SALT);
    props.put("fields", fields);
    HashPii<SourceRecord> smt = new HashPii<>();
    smt.configure(props);
    return smt;
  }

  static final String ORDERS_FIELDS =
      "wmwhse1.ORDERS.C_Company, wmwhse1.ORDERS.C_Address1,wmwhse1.ORDERS.C_City";

  @Test
  void hashesConfiguredColumnsOfBeforeAndAfterAsLowercaseHex() {
    SourceRecord in =
        change(
            "u",
            row("ACME Foods Inc", "12 Harbour Rd", "Café Zürich"),
            row("ACME Foods Inc", "12 Harbour Rd", "Café Zürich"),
            mariaSource("wmwhse1", "ORDERS"));
    Struct out = (Struct) transform(ORDERS_FIELDS).apply(in).value();
    for (String image : List.of("before", "after")) {
      Struct row = out.getStruct(image);
      assertEquals(ACME, row.getString("C_Company"));
      assertEquals(HARBOUR, row.getString("C_Address1"));
      assertEquals(CAFE, row.getString("C_City"));
    }
  }

  @Test
  void keepsNullsNullAndAMissingImageMissing() {
    SourceRecord in = change("c", null, row(null, "12 Harbour Rd", null), mariaSource("wmwhse1", "ORDERS"));
    Struct out = (Struct) transform(ORDERS_FIELDS).apply(in).value();
    assertNull(out.get("before"));
    assertNull(out.getStruct("after").get("C_Company"));
    assertNull(out.getStruct("after").get("C_City"));
    assertEquals(HARBOUR, out.getStruct("after").getString("C_Address1"));
  }

  @Test
  void leavesOtherFieldsKeyTopicTimestampAndSchemasAsTheyWere() {
    Struct source = mariaSource("wmwhse1", "ORDERS");
    SourceRecord in = change("d", row("ACME Foods Inc", "12 Harbour Rd", "X"), null, source);
    SourceRecord out = transform("wmwhse1.ORDERS.C_Company").apply(in);
    Struct value = (Struct) out.value();
    Struct before = value.getStruct("before");
    assertEquals(ACME, before.getString("C_Company"));
    assertEquals("12 Harbour Rd", before.getString("C_Address1")); // not configured
    assertEquals("X", before.getString("C_City"));
    assertEquals("0000000042", before.getString("OrderKey"));
    assertEquals(7, before.getInt32("Qty"));
    assertSame(ROW, before.schema());
    assertEquals(source, value.getStruct("source"));
    assertEquals("d", value.getString("op"));
    assertEquals(1_700_000_000_123L, value.getInt64("ts_ms"));
    assertSame(in.valueSchema(), out.valueSchema());
    assertSame(in.key(), out.key());
    assertSame(in.keySchema(), out.keySchema());
    assertEquals(in.topic(), out.topic());
    assertEquals(in.kafkaPartition(), out.kafkaPartition());
    assertEquals(in.timestamp(), out.timestamp());
    assertEquals(in.sourceOffset(), out.sourceOffset());
    // The input record is not modified in place.
    assertEquals("ACME Foods Inc", ((Struct) in.value()).getStruct("before").getString("C_Company"));
  }

  @Test
  void leavesTablesThatAreNotConfiguredUntouched() {
    HashPii<SourceRecord> smt = transform(ORDERS_FIELDS);
    Struct plain = row("ACME Foods Inc", "12 Harbour Rd", "X");
    for (Struct source :
        List.of(mariaSource("wmwhse1", "PICKDETAIL"), mariaSource("wmwhse2", "ORDERS"))) {
      SourceRecord in = change("c", null, plain, source);
      assertSame(in, smt.apply(in));
    }
  }

  @Test
  void qualifiesPostgresTablesBySchemaNotDatabase() {
    Schema schema = envelope(POSTGRES_SOURCE);
    Struct source =
        new Struct(POSTGRES_SOURCE)
            .put("version", "3.6.1.Final")
            .put("connector", "postgresql")
            .put("db", "erp")
            .put("schema", "proddta")
            .put("table", "ORDERS");
    Struct value =
        new Struct(schema)
            .put("after", row("ACME Foods Inc", "a", "b"))
            .put("source", source)
            .put("op", "r");
    SourceRecord in = record(schema, value);
    assertSame(in, transform(ORDERS_FIELDS).apply(in)); // wmwhse1 is not the schema
    Struct out = (Struct) transform("proddta.ORDERS.C_Company").apply(in).value();
    assertEquals(ACME, out.getStruct("after").getString("C_Company"));
    assertSame(in, transform("erp.ORDERS.C_Company").apply(in)); // db is not the schema
  }

  @Test
  void passesTombstonesHeartbeatsTransactionsAndSchemaChangesThrough() {
    HashPii<SourceRecord> smt = transform(ORDERS_FIELDS);
    SourceRecord tombstone = record(null, null);
    assertSame(tombstone, smt.apply(tombstone));

    Schema heartbeat =
        SchemaBuilder.struct()
            .name("io.debezium.connector.common.Heartbeat")
            .field("ts_ms", Schema.INT64_SCHEMA)
            .build();
    SourceRecord beat = record(heartbeat, new Struct(heartbeat).put("ts_ms", 1L));
    assertSame(beat, smt.apply(beat));

    Schema transaction =
        SchemaBuilder.struct()
            .name("io.debezium.connector.common.TransactionMetadataValue")
            .field("status", Schema.STRING_SCHEMA)
            .field("id", Schema.STRING_SCHEMA)
            .field("event_count", Schema.OPTIONAL_INT64_SCHEMA)
            .build();
    SourceRecord tx =
        record(transaction, new Struct(transaction).put("status", "BEGIN").put("id", "0-1-2"));
    assertSame(tx, smt.apply(tx));

    Schema ddl =
        SchemaBuilder.struct()
            .name("io.debezium.connector.mariadb.SchemaChangeValue")
            .field("source", MARIADB_SOURCE)
            .field("databaseName", Schema.STRING_SCHEMA)
            .field("ddl", Schema.STRING_SCHEMA)
            .build();
    SourceRecord change =
        record(
            ddl,
            new Struct(ddl)
                .put("source", mariaSource("wmwhse1", "ORDERS"))
                .put("databaseName", "wmwhse1")
                .put("ddl", "ALTER TABLE ORDERS ADD COLUMN C_Company VARCHAR(45)"));
    assertSame(change, smt.apply(change));
  }

  @Test
  void refusesToHashANonStringColumn() {
    SourceRecord in = change("c", null, row("a", "b", "c"), mariaSource("wmwhse1", "ORDERS"));
    DataException error =
        assertThrows(DataException.class, () -> transform("wmwhse1.ORDERS.Qty").apply(in));
    assertTrue(error.getMessage().contains("wmwhse1.ORDERS.Qty"), error.getMessage());
  }

  @Test
  void toleratesAConfiguredColumnTheRowDoesNotHave() {
    SourceRecord in = change("c", null, row("ACME Foods Inc", "b", "c"), mariaSource("wmwhse1", "ORDERS"));
    Struct out =
        (Struct) transform("wmwhse1.ORDERS.C_Company,wmwhse1.ORDERS.Dropped").apply(in).value();
    assertEquals(ACME, out.getStruct("after").getString("C_Company"));
  }

  static ConfigException configError(Map<String, Object> props) {
    return assertThrows(ConfigException.class, () -> new HashPii<SourceRecord>().configure(props));
  }

  @Test
  void aMissingSaltIsAClearConfigError() {
    ConfigException error = configError(Map.of("fields", ORDERS_FIELDS));
    assertTrue(error.getMessage().contains("\"secret\""), error.getMessage());
  }

  @Test
  void anUnresolvedEmptyOrShortSaltIsAConfigErrorThatDoesNotEchoIt() {
    ConfigException unresolved =
        configError(Map.of("secret", "${env:SCV_PII_HASH_SALT}", "fields", ORDERS_FIELDS));
    assertTrue(unresolved.getMessage().contains("unresolved"), unresolved.getMessage());
    assertTrue(configError(Map.of("secret", "  ", "fields", ORDERS_FIELDS)).getMessage().contains("empty"));
    ConfigException shortSalt = configError(Map.of("secret", "s3cr3t-short", "fields", ORDERS_FIELDS));
    assertTrue(shortSalt.getMessage().contains("shorter than 16"), shortSalt.getMessage());
    assertFalse(shortSalt.getMessage().contains("s3cr3t-short"), shortSalt.getMessage());
  }

  @Test
  void fieldsMustBeSchemaTableColumn() {
    assertTrue(configError(Map.of("secret", SALT)).getMessage().contains("\"fields\""));
    assertTrue(configError(Map.of("secret", SALT, "fields", "")).getMessage().contains("at least one"));
    ConfigException bad = configError(Map.of("secret", SALT, "fields", "ORDERS.C_Company"));
    assertTrue(bad.getMessage().contains("ORDERS.C_Company"), bad.getMessage());
    assertFalse(bad.getMessage().contains(SALT), bad.getMessage());
  }

  @Test
  void groupsFieldsByTable() {
    assertEquals(
        Map.of("wmwhse1.ORDERS", java.util.Set.of("C_Company", "C_City"), "proddta.f0101", java.util.Set.of("abalph")),
        transform("wmwhse1.ORDERS.C_Company,wmwhse1.ORDERS.C_City,proddta.f0101.abalph").columnsByTable());
  }

  @Test
  void theSaltNeverAppearsInToStringOrTheLoggedConfig() {
    HashPii<SourceRecord> smt = transform(ORDERS_FIELDS);
    HashPii.Config config = new HashPii.Config(Map.of("secret", SALT, "fields", ORDERS_FIELDS));
    for (String text :
        List.of(
            smt.toString(),
            config.values().toString(),
            HashPii.CONFIG_DEF.toRst())) {
      assertFalse(text.contains(SALT), text);
    }
    assertEquals("[hidden]", config.values().get("secret").toString());
    // Connect prints a config's values this way (AbstractConfig.logAll) when a task starts.
    assertTrue(config.values().toString().contains("secret=[hidden]"), config.values().toString());
  }

  @Test
  void aSaltNamedSaltIsRefusedWithoutEchoingIt() {
    // Debezium's "Starting ...Task with configuration" log masks only *secret / *password names.
    ConfigException error = configError(Map.of("salt", SALT, "fields", ORDERS_FIELDS));
    assertTrue(error.getMessage().contains("'secret'"), error.getMessage());
    assertFalse(error.getMessage().contains(SALT), error.getMessage());
    assertTrue(
        java.util.regex.Pattern.compile(".*secret$|.*password$")
            .matcher("transforms.pii." + HashPii.SALT)
            .matches());
  }
}
