{#-
    The decode store: every copy of every run and experiment summary decoded
    once per source file, not once per build (models/store/). On DuckDB the
    store models are incremental tables in a database of their own, attached
    as `butter_store` (profiles.yml; a file beside the published warehouse,
    so it outlives the build folder that a build is published from). Each row
    carries its file's identity from the scan (`file_identity`: size,
    modification time and inode, or the S3 ETag) and the version of the
    decode that made it (`decode_version`: a hash of the SQL that decodes the
    folders and of the engine's version). A build decodes only the files of
    the inventory that the store does not hold with that identity and
    version; then the store's rows of files that changed or left the data
    root, and rows of another decode version, are deleted (post-hook
    butter_store_prune). Rows of other data roots stay, so switching roots
    and back decodes nothing. `butter build --full-refresh` decodes
    everything again. On engines without the store (Spark: its parquet tables
    cannot delete rows) the store models are tables decoded in full each build.
-#}


{#- The database the store models are written to: the attached store on
    DuckDB, the target's own elsewhere (none). -#}
{% macro butter_store_database() -%}
    {{- return(adapter.dispatch('butter_store_database', 'butter')()) -}}
{%- endmacro %}

{% macro default__butter_store_database() -%}
    {{- return(none) -}}
{%- endmacro %}

{% macro duckdb__butter_store_database() -%}
    {{- return('butter_store') -}}
{%- endmacro %}


{#- The parquet files of one kind in the inventory, as a table expression:
    folder, source_file (the path as the staging models' reader spells it:
    the data root as configured, then the path below the folder) and
    file_identity. -#}
{% macro butter_inventory_source_files(kind) -%}
    select
        inventory_files.folder,
        {{ butter_sql_string(butter_data_root() ~ '/') }} || inventory_files.folder
        || substr(inventory_files.path, length(inventory_folders.folder_path) + 1) as source_file,
        inventory_files.file_identity
    from {{ butter_inventory('files') }} as inventory_files
    inner join {{ butter_inventory('folders') }} as inventory_folders
        on inventory_files.folder = inventory_folders.folder
    where inventory_files.folder_kind = '{{ kind }}'
{%- endmacro %}


{#- The filter of one folder's rows in the decode SQL (butter_copies_unioned):
    `true` behind a comment naming the folder, which
    butter_copies_decoded replaces by the files to decode. -#}
{% macro butter_file_marker(folder) -%}
    /* butter_files:{{ folder }} */ true
{%- endmacro %}


{#- The comments around the folders' union in the decode SQL (`start`, `end`):
    the decode version hashes what is outside them, so adding or removing a
    folder does not change the version of the others. -#}
{% macro butter_folder_legs_marker(position) -%}
    /* butter_folders:{{ position }} */
{%- endmacro %}


{#- The version of each folder's decode (compile time): folder -> a hash of
    the SQL that decodes its rows (decode_sql, butter_copies_unioned with
    file markers, but the folders' union), of the folder's staging view as
    this build made it (butter_staging_sql, the data root left out) and of
    the engine's version, for every folder decode_sql reads. A changed macro,
    contract, folder spelling, set of compared arrays or engine changes it,
    and the store decodes that folder's files again. -#}
{% macro butter_decode_versions(kind, decode_sql) -%}
    {%- set start = butter_folder_legs_marker('start') -%}
    {%- set end = butter_folder_legs_marker('end') -%}
    {%- set expressions = decode_sql.split(start)[0] ~ decode_sql.split(end)[-1] -%}
    {%- set engine = run_query('select version()').rows[0][0] | string -%}
    {%- set staging = butter_staging_sql(kind) -%}
    {%- set versions = {} -%}
    {%- for folder in butter_folders(kind) if butter_file_marker(folder) in decode_sql -%}
        {%- set view = (staging.get(folder) or '').replace(butter_data_root(), '<data root>') -%}
        {%- do versions.update({folder: local_md5(expressions ~ '\n' ~ engine ~ '\n' ~ folder ~ ': ' ~ view)}) -%}
    {%- endfor -%}
    {{- return(versions) -}}
{%- endmacro %}


{#- The SQL of the staging views of one kind as the engine holds them
    (compile time, after staging was built): folder -> SQL; empty where the
    engine keeps no store (its store models are rebuilt each build). -#}
{% macro butter_staging_sql(kind) -%}
    {{- return(adapter.dispatch('butter_staging_sql', 'butter')(kind)) -}}
{%- endmacro %}

{% macro default__butter_staging_sql(kind) -%}
    {{- return({}) -}}
{%- endmacro %}

{% macro duckdb__butter_staging_sql(kind) -%}
    {%- set folders = {} -%}
    {%- for folder in butter_folders(kind) -%}
        {%- set relation = ref('stg_butter__' ~ folder) -%}
        {%- do folders.update({relation.identifier: folder}) -%}
    {%- endfor -%}
    {%- set schema = ref('stg_butter__' ~ butter_folders(kind)[0]).schema -%}
    {%- set views = run_query("select view_name, sql from duckdb_views() where database_name = current_database() "
        ~ "and schema_name = " ~ butter_sql_string(schema)) -%}
    {%- set found = {} -%}
    {%- for row in views.rows if row[0] in folders -%}
        {%- do found.update({folders[row[0]]: row[1]}) -%}
    {%- endfor -%}
    {{- return(found) -}}
{%- endmacro %}


{#- The versions a store model's SQL appends, for its post-hook: folder ->
    version, read from its compiled code (`when '<folder>' then '<version>'`
    in the decode_version column; none when no folder of the kind has files). -#}
{% macro butter_compiled_decode_versions() -%}
    {%- set found = modules.re.findall("when '([a-z0-9_]+)' then '([0-9a-f]{32})'", model.compiled_code or '') -%}
    {%- set versions = {} -%}
    {%- for folder, version in found -%}
        {%- do versions.update({folder: version}) -%}
    {%- endfor -%}
    {{- return(versions) -}}
{%- endmacro %}


{#- The files to decode (compile time): a mapping folder -> SQL condition on
    source_file: `true` (every file of the folder: a rebuilt store, or a
    folder whose files are all new), `false` (none) or the list of the new
    files. New: in the inventory, but not in the store with this identity
    and the folder's decode version. -#}
{% macro butter_store_file_conditions(kind, versions) -%}
    {%- set conditions = {} -%}
    {%- for folder in butter_folders(kind) -%}
        {%- do conditions.update({folder: 'true'}) -%}
    {%- endfor -%}
    {%- if not is_incremental() -%}
        {{- return(conditions) -}}
    {%- endif -%}
    {%- set files_sql -%}
        select
            inventory_source_files.folder,
            inventory_source_files.source_file,
            not exists (
                select 1
                from {{ this }} as stored
                where stored.source_file = inventory_source_files.source_file
                    and stored.file_identity = inventory_source_files.file_identity
                    and stored.decode_version = {{ butter_decode_version_case('inventory_source_files.folder', versions) }}
            ) as is_new
        from ({{ butter_inventory_source_files(kind) }}) as inventory_source_files
    {%- endset -%}
    {%- set folders = run_query(
        'select folder, count(*) filter (where is_new) = count(*) as all_new, bool_or(is_new) as any_new from ('
        ~ files_sql ~ ') as files group by folder') -%}
    {%- set partly_new = [] -%}
    {%- for row in folders.rows -%}
        {%- if not row[2] -%}
            {%- do conditions.update({row[0]: 'false'}) -%}
        {%- elif not row[1] -%}
            {%- do partly_new.append(butter_sql_string(row[0])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if partly_new -%}
        {%- set new_files = run_query('select folder, source_file from (' ~ files_sql ~ ') as files where is_new and folder in ('
            ~ partly_new | join(', ') ~ ') order by folder, source_file') -%}
        {%- set lists = {} -%}
        {%- for row in new_files.rows -%}
            {%- do lists.setdefault(row[0], []).append(butter_sql_string(row[1])) -%}
        {%- endfor -%}
        {%- for folder, paths in lists.items() -%}
            {%- do conditions.update({folder: 'source_file in (' ~ paths | join(', ') ~ ')'}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(conditions) -}}
{%- endmacro %}


{#- A folder's decode version as SQL: `case <folder_column> when '<folder>'
    then '<version>' ... end` (NULL for a folder without one). -#}
{% macro butter_decode_version_case(folder_column, versions) -%}
    {%- if versions -%}
    case {{ folder_column }}
        {%- for folder, version in versions.items() %} when '{{ folder }}' then '{{ version }}'{% endfor %} end
    {%- else -%}
    cast(null as string)
    {%- endif -%}
{%- endmacro %}


{#- Body of the store models: butter_copies_unioned over the files to decode
    (butter_store_file_conditions in place of the file markers), with each
    row's file identity and its folder's decode version. folder_relations:
    folder -> staging relation, as for butter_copies_unioned. -#}
{% macro butter_copies_decoded(kind, folder_relations) -%}
    {%- if not execute -%}
        {{- return('select 1 as parsed') -}}
    {%- endif -%}
    {%- set decode_sql = butter_copies_unioned(kind, folder_relations) -%}
    {%- set versions = butter_decode_versions(kind, decode_sql) -%}
    {%- set decode = namespace(sql=decode_sql) -%}
    {%- for folder, condition in butter_store_file_conditions(kind, versions).items() -%}
        {%- set decode.sql = decode.sql.replace(butter_file_marker(folder), condition) -%}
    {%- endfor -%}
    select
        decoded.*,
        inventory_source_files.file_identity,
        {{ butter_decode_version_case('decoded.source_folder', versions) }} as decode_version
    from (
        {{ decode.sql }}
    ) as decoded
    left join (
        {{ butter_inventory_source_files(kind) }}
    ) as inventory_source_files
        on decoded.source_file = inventory_source_files.source_file
{%- endmacro %}


{#- Post-hook of the store models: after the new rows are added (they have
    this build's decode version and file identities), delete the rows of a
    folder this build decodes that have another decode version (of any data
    root), and the rows of files under this data root that the inventory does
    not hold with the same identity (rewritten or removed; not a row without
    an identity, which the not_null test reports). After, not before:
    in one transaction DuckDB refuses to commit a DELETE followed by the ALTER
    TABLE of a changed set of columns (on_schema_change), and accepts the
    other order. A no-op where the table is rebuilt. -#}
{% macro butter_store_prune(kind) -%}
    {%- if not execute or not is_incremental() -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set versions = butter_compiled_decode_versions() %}
    delete from {{ this }}
    where
        {%- if versions %}
        (
            source_folder in ('{{ versions.keys() | join("', '") }}')
            and decode_version is distinct from {{ butter_decode_version_case('source_folder', versions) }}
        )
        or
        {%- endif %}
        (
            starts_with(source_file, {{ butter_sql_string(butter_data_root() ~ '/') }})
            {#- a row whose file the inventory did not know as it was decoded stays,
                for the store's not_null test to report -#}
            and file_identity is not null
            and not exists (
                select 1
                from ({{ butter_inventory_source_files(kind) }}) as inventory_source_files
                where inventory_source_files.source_file = {{ this }}.source_file
                    and inventory_source_files.file_identity = {{ this }}.file_identity
            )
        )
{%- endmacro %}


{#- Body of int_run_copies_unioned / int_experiment_copies_unioned: the
    store's rows of the files this build's inventory holds, with the
    identity the scan recorded (the store also holds other data roots). -#}
{% macro butter_current_copies(kind, stored_relation) -%}
    {{- return(adapter.dispatch('butter_current_copies', 'butter')(kind, stored_relation)) -}}
{%- endmacro %}

{% macro default__butter_current_copies(kind, stored_relation) -%}
    {#- the store model is rebuilt from this data root in every build -#}
    select * from {{ stored_relation }}
{%- endmacro %}

{% macro duckdb__butter_current_copies(kind, stored_relation) -%}
    select {{ stored_relation }}.*
    from {{ stored_relation }}
    inner join (
        {{ butter_inventory_source_files(kind) }}
    ) as inventory_source_files
        on {{ stored_relation }}.source_file = inventory_source_files.source_file
        and {{ stored_relation }}.file_identity = inventory_source_files.file_identity
{%- endmacro %}
