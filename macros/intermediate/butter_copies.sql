{#-
    The same run (experiment) can be published in all_runs and all_repetitions
    (complete_summary and complete_executive_summary) and in several per-sweep
    folders. These macros hold the three steps that
    make each appear once downstream, shared by the run and experiment models:

    1. butter_copies_unioned: key + cheap columns of every copy in every folder,
       one checksum per per-epoch array (the arrays themselves are not kept),
       whether the row is damaged (macros/intermediate/butter_damage.sql:
       NULL key, NULL/empty array, array not `epochs` long) and, for runs, the
       smallest and largest finite value of each accuracy array (the range
       check reads them here instead of decoding the arrays again); each
       copy's best points and, for summaries, its learning-curve points
       (butter_best_points.sql, butter_curve_points.sql). The
       decode store's models run it (models/store/, once per source file:
       macros/store/butter_store.sql) and int_*_copies_unioned read their rows;
    2. butter_copies_located: one row per key, over the copies that are not
       damaged: which folder and file it is read from (for summaries a copy
       agreeing with the experiment's runs first; then one holding more of the
       statistics some folder does not store, q1/q3; then by the contract's
       folder order: the all-sweeps folders, the sweep folders, the executive
       summary last; then the first file), how many copies there are, whether
       they disagree (in the cheap columns or in any array both keep: the
       copies that differ from the one read are named) and whether one folder holds it twice;
    3. butter_copies_deduplicated: the full rows, each read from its one
       folder, so the arrays are scanned once.

    The macros compute no relation: each model imports what it reads (one
    CTE per staging model, ref()) and passes it in; steps 1 and 3 take a
    mapping folder -> relation, checked against butter_folders(kind).
-#}

{#- Every column that defines an experiment: the non-flag columns its runs and
    summaries share, but the key (the hyperparameters of butter_hyperparameters
    and every configuration column: activations, optimizer, test split, widths,
    network structure, task, ...). Runs of one experiment and its summary
    copies are compared on all of them (hyperparameters_fingerprint). -#}
{% macro butter_definition_columns() -%}
    {%- set summary_names = [] -%}
    {%- for col in butter_columns('summary') -%}
        {%- do summary_names.append(col.name) -%}
    {%- endfor -%}
    {%- set columns = [] -%}
    {%- for col in butter_columns('runs')
        if col.name in summary_names and col.name != 'experiment_id' and col.sql_type != 'boolean' -%}
        {%- do columns.append(col.name) -%}
    {%- endfor -%}
    {{- return(columns) -}}
{%- endmacro %}


{% macro butter_key_column(kind) -%}
    {{- return('run_id' if kind == 'runs' else 'experiment_id') -}}
{%- endmacro %}


{% macro butter_folder_relations(kind, folder_relations) -%}
    {#- The model's mapping folder -> relation (its import CTE of that folder's
        staging model), checked against the contract's folders of the kind in
        their order (the all-sweeps folders first); returned as a list of
        (folder, relation) pairs of the folders that hold parquet files (a
        folder the layout does not have is left out of the union, so an engine
        plans only the folders present; the first folder when none has any). -#}
    {%- set expected = butter_folders(kind) -%}
    {%- if folder_relations.keys() | list != expected -%}
        {{- exceptions.raise_compiler_error("BUTTER: the " ~ kind ~ " folders given " ~ (folder_relations.keys() | list)
            ~ " are not the contract's " ~ expected ~ " in that order: import each staging model of "
            ~ "butter_folders('" ~ kind ~ "') and map its folder to that relation.") -}}
    {%- endif -%}
    {%- set present = [] -%}
    {%- for folder, relation in folder_relations.items() if butter_inventory_folder(folder).parquet_files > 0 -%}
        {%- do present.append((folder, relation)) -%}
    {%- endfor -%}
    {{- return(present or (folder_relations.items() | list)[:1]) -}}
{%- endmacro %}


{% macro butter_copies_unioned(kind, folder_relations) -%}
    {#- values_fingerprint: the cheap columns; arrays_fingerprint: one checksum
        per per-epoch array (butter_array_checksum) compared between copies, so
        this pass reads the arrays of every copy once (NULL for the executive
        summary, which keeps few arrays); executive_arrays_fingerprint
        (summaries): the arrays the executive summary shares with the other
        folders. Copies agree when these are equal where both have them
        (butter_copies_agree). folder_relations: folder -> staging relation.
        The folders' rows are unioned first (every staging model of a kind has
        the same columns) and each expression is written once over the union:
        Spark's planning time follows the expression's size. Each folder's
        rows are filtered by `butter_file_marker(folder)` (a
        comment and `true`), which the decode store replaces by the files it
        decodes, and the folders' union stands between two comments
        (butter_folder_legs_marker), which the decode version leaves out
        (macros/store/butter_store.sql). -#}
    {%- if not execute -%}
        {#- parsing needs only the model's refs (its import CTEs): the SQL is
            written at run time, which saves a second of every dbt command -#}
        {{- return('select 1 as parsed') -}}
    {%- endif -%}
    {%- set key = butter_key_column(kind) -%}
    {%- set columns = butter_agreement_columns(kind) -%}
    {%- set executive = butter_executive_folder() -%}
    {%- set arrays = butter_compared_arrays(kind, exclude=executive) -%}
    {%- set executive_arrays = butter_compared_arrays(kind) if kind == 'summary' else [] -%}
    {#- statistics some folder does not store (q1/q3 in one spelling): a copy
        holding more of them is read first (butter_copies_located) -#}
    {%- set optional_statistics = butter_summary_statistics() | reject('in', arrays) | list
        if kind == 'summary' else [] -%}
    {%- set relations = butter_folder_relations(kind, folder_relations) -%}
    {#- what the expressions below read from each folder's rows -#}
    {%- set read = ['source_file', key, 'epochs'] + (['experiment_id'] if kind == 'runs' else []) -%}
    {%- for column in columns + butter_definition_columns() -%}
        {%- do read.append(column) -%}
    {%- endfor -%}
    {%- for array in butter_epoch_arrays(kind) -%}
        {%- do read.append(array.name) -%}
    {%- endfor -%}
    {%- set read = read | unique | list -%}
    {%- if kind == 'summary' %}
    {#- each copy's learning-curve points (macros/intermediate/butter_curve_points.sql;
        marts.experiment_learning_curves reads the located copy's): the grid needs
        the curve's length and best epoch, the points need the grid -#}
    select
        {{ butter_star_except(butter_learning_curve_inputs()) }},
        {{ butter_learning_curve_points() }}
    from (
    {%- endif -%}
    select
        source_folder,
        source_file,
        {%- if kind == 'runs' %}
        {{ key }},
        {%- endif %}
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        hyperparameters_fingerprint,
        values_fingerprint,
        arrays_fingerprint,
        executive_arrays_fingerprint,
        {%- if kind == 'summary' %}
        num_optional_statistics,
        {%- endif %}
        {{ butter_row_damage(kind) }} as damage,
        damage_detail
        {%- if kind == 'runs' %}
        {%- for metric in butter_accuracy_metrics() %},
        min_finite_{{ metric }},
        max_finite_{{ metric }}
        {%- endfor %}
        {%- for best in butter_best_point_metrics() %},
        best_{{ best.metric }}
        {%- endfor %},
        {{ butter_best_point_epochs() }},
        num_epochs,
        num_finite_test_loss,
        last_test_loss,
        last_train_loss
        {%- else %}
        {%- for curve in butter_median_curves() %},
        median_curve_best_{{ curve.metric }},
        median_curve_final_{{ curve.metric }}
        {%- endfor %},
        {{ butter_median_curve_epochs() }}
        {%- for stat in butter_learning_curve_statistics() %},
        {{ stat.column }}
        {%- endfor %},
        learning_curve_num_epochs,
        {{ butter_learning_curve_grid(var('butter_curve_max_points')) }}
        {%- endif %}
    from (
        select
            source_folder,
            source_file,
            {%- if kind == 'runs' %}
            {{ key }},
            {%- endif %}
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {{ butter_fingerprint(columns) }} as values_fingerprint,
            case when source_folder != '{{ executive }}' then md5(concat_ws('|', '<arrays>'
                {%- for array in arrays %},
                coalesce({{ butter_array_checksum(array) }}, '<null>')
                {%- endfor %}
            )) end as arrays_fingerprint,
            {%- if kind == 'summary' %}
            md5(concat_ws('|', '<executive arrays>'
                {%- for array in executive_arrays %},
                coalesce({{ butter_array_checksum(array) }}, '<null>')
                {%- endfor %}
            )) as executive_arrays_fingerprint,
            0
            {%- for statistic in optional_statistics %}
            + case when {{ statistic }} is not null then 1 else 0 end
            {%- endfor %} as num_optional_statistics,
            {%- else %}
            cast(null as string) as executive_arrays_fingerprint,
            {%- endif %}
            {{ butter_fingerprint(butter_definition_columns()) }} as hyperparameters_fingerprint,
            {{ butter_row_damage_detail(kind, 'source_folder') }} as damage_detail
            {%- if kind == 'runs' %}
            {%- for metric in butter_accuracy_metrics() %},
            {{ butter_list_min(butter_list_finite(metric)) }} as min_finite_{{ metric }},
            {{ butter_list_max(butter_list_finite(metric)) }} as max_finite_{{ metric }}
            {%- endfor %}
            {#- each copy's best and final points (macros/intermediate/butter_best_points.sql;
                marts.run_best_epochs reads the located copy's): the values here,
                their epochs above, where the arrays are still at hand -#}
            {%- for best in butter_best_point_metrics() %},
            {{ best.metric }}
            {%- endfor %},
            {{ butter_best_point_values() }}
            {%- else %}
            {#- each copy's median curves' best and final points (marts.experiment_summary
                reads the located copy's), the same way, and the length of its curves;
                the statistics' arrays go on to the grid and the points (above) -#}
            {%- for stat in butter_learning_curve_statistics() %},
            {{ stat.column }}
            {%- endfor %},
            {{ butter_median_curve_values() }},
            {{ butter_learning_curve_length() }}
            {%- endif %}
        from (
            {{ butter_folder_legs_marker('start') }}
            {%- for folder, relation in relations %}
            select
                '{{ folder }}' as source_folder,
                {{ read | join(', ') }}
            from {{ relation }}
            where {{ butter_file_marker(folder) }}
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
            {{ butter_folder_legs_marker('end') }}
        ) as folder_rows
    ) as folder_copies
    {%- if kind == 'summary' %}
    ) as copies_with_grid
    {%- endif %}
{%- endmacro %}


{% macro butter_copies_agree(copy, other) -%}
    {#- Whether two copies (table aliases of copy rows, or prefixes ending in
        `read_`) hold the same data: equal cheap columns, and equal arrays
        where both keep them (the executive summary keeps only the test-loss
        quartiles, compared through executive_arrays_fingerprint). -#}
    (
        {{ copy }}values_fingerprint = {{ other }}values_fingerprint
        and coalesce({{ copy }}arrays_fingerprint = {{ other }}arrays_fingerprint, true)
        and coalesce({{ copy }}executive_arrays_fingerprint = {{ other }}executive_arrays_fingerprint, true)
    )
{%- endmacro %}


{% macro butter_compared_arrays(kind, exclude=none) -%}
    {#- The per-epoch arrays compared between copies: those stored by every
        folder of the kind that holds files (but `exclude`). A statistic one
        export does not publish (q1/q3 in one spelling) is NULL in the other
        folders' copies, which is not a difference between them. -#}
    {%- set names = butter_run_metrics() if kind == 'runs' else butter_summary_statistics() -%}
    {%- if not execute -%}
        {{- return(names) -}}
    {%- endif -%}
    {%- set spellings = {} -%}
    {%- for col in butter_columns(kind) if col.name in names -%}
        {%- do spellings.update({col.name: [col.name, col.framework, col.published] | reject('none') | list}) -%}
    {%- endfor -%}
    {%- set stored_by_folder = [] -%}
    {%- for folder in butter_folders(kind) if folder != exclude and butter_inventory_folder(folder).parquet_files > 0 -%}
        {%- do stored_by_folder.append(butter_describe(butter_source(folder)) | map(attribute='name') | list) -%}
    {%- endfor -%}
    {%- set compared = [] -%}
    {%- for name in names -%}
        {%- set everywhere = namespace(value=true) -%}
        {%- for stored in stored_by_folder -%}
            {%- if not (spellings[name] | select('in', stored) | list) -%}
                {%- set everywhere.value = false -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if everywhere.value -%}
            {%- do compared.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(compared) -}}
{%- endmacro %}


{% macro butter_copies_located(kind, copies_relation, runs_relation=none) -%}
    {#- runs_relation (summaries only): experiment_id, runs_hyperparameters_fingerprint
        of the experiment's runs; a summary copy whose hyperparameters differ from
        its runs' is read only when no copy agrees (the runs win). -#}
    {%- set key = butter_key_column(kind) -%}
    {%- set all_sweeps_folders = butter_all_sweeps_folders(kind) -%}
    select
        {{ key }},
        {%- if kind == 'runs' %}
        {{ butter_any_value("experiment_id") }} filter (where copy_rank = 1) as experiment_id,
        {%- endif %}
        {{ butter_any_value("source_folder") }} filter (where copy_rank = 1) as read_from_folder,
        {{ butter_any_value("source_file") }} filter (where copy_rank = 1) as read_from_file,
        count(*) as num_copies,
        {{ butter_string_agg('source_folder', "', '", 'source_folder', distinct=true) }} as source_folders,
        bool_or(not agrees_with_read_copy) as has_disagreeing_copies,
        count(distinct values_fingerprint) > 1 as has_disagreeing_values,
        count(distinct arrays_fingerprint) > 1 or count(distinct executive_arrays_fingerprint) > 1
            as has_disagreeing_arrays,
        {{ butter_string_agg("case when not agrees_with_read_copy then source_folder || ': ' || source_file end",
            "', '", 'source_folder, source_file') }} as disagreeing_copy_files,
        count(*) filter (where source_folder in ('{{ all_sweeps_folders | join("', '") }}')) > 0
            as is_in_all_sweeps_folder,
        count(*) > count(distinct source_folder) as has_duplicate_in_folder,
        {{ butter_string_agg("case when copies_in_folder > 1 then source_folder || ': ' || source_file end",
            "', '", 'source_folder, source_file') }} as duplicate_in_folder_files
        {%- if runs_relation is not none %},
        {{ butter_any_value("runs_hyperparameters_fingerprint") }} as runs_hyperparameters_fingerprint,
        {{ butter_string_agg('case when disagrees_with_runs then source_folder end', "', '",
            'case when disagrees_with_runs then source_folder end', distinct=true) }} as folders_disagreeing_with_runs,
        coalesce(bool_or(disagrees_with_runs) filter (where copy_rank = 1), false) as is_read_copy_disagreeing_with_runs
        {%- endif %}
    from (
        select
            ordered_copies.*,
            {{ butter_copies_agree('ordered_copies.', 'ordered_copies.read_') }} as agrees_with_read_copy
        from (
            select
                copies.*,
                {%- if runs_relation is not none %}
                runs.runs_hyperparameters_fingerprint,
                coalesce(copies.hyperparameters_fingerprint != runs.runs_hyperparameters_fingerprint, false)
                    as disagrees_with_runs,
                {%- endif %}
                count(*) over (partition by copies.{{ key }}, copies.source_folder) as copies_in_folder,
                row_number() over copy_order as copy_rank,
                first_value(copies.values_fingerprint) over copy_order as read_values_fingerprint,
                first_value(copies.arrays_fingerprint) over copy_order as read_arrays_fingerprint,
                first_value(copies.executive_arrays_fingerprint) over copy_order
                    as read_executive_arrays_fingerprint
            from {{ copies_relation }} as copies
            {%- if runs_relation is not none %}
            left join {{ runs_relation }} as runs
                on copies.{{ key }} = runs.experiment_id
            {%- endif %}
            where copies.damage is null
            window copy_order as (
                partition by copies.{{ key }}
                order by
                    {%- if runs_relation is not none %}
                    coalesce(copies.hyperparameters_fingerprint != runs.runs_hyperparameters_fingerprint, false),
                    {%- endif %}
                    {%- if kind == 'summary' %}
                    copies.num_optional_statistics desc,
                    {%- endif %}
                    {{ butter_folder_rank('copies.source_folder', kind) }}, copies.source_file
            )
        ) as ordered_copies
    ) as ranked_copies
    group by {{ key }}
{%- endmacro %}


{% macro butter_folder_rank(folder_expr, kind) -%}
    {#- A folder's place in the contract's order (butter_folders): the copy read
        comes from the all-sweeps folders first, the executive summary last. -#}
    case {{ folder_expr }}
        {%- for folder in butter_folders(kind) %}
        when '{{ folder }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}


{% macro butter_copies_deduplicated(kind, folder_relations, located_relation, copies_relation) -%}
    {#- Only the copy that is read, from each folder: not one read from another
        folder, nor a second copy in the same folder (a file downloaded twice).
        The (key, file) pairs to skip come from the key columns alone (normally
        none) in an uncorrelated NOT IN, which DuckDB plans as a hash (mark) join
        built on those few pairs, the folder's rows streaming past. A correlated
        NOT EXISTS with a filter, join or inequality inside becomes a delim join
        instead, which buffers every row of the folder, arrays and all: memory
        that grows with the data. NOT IN is NULL-aware, hence the NULL guards.
        Damaged rows (a NULL key, an unusable array) are located nowhere, so
        they are skipped too: a key without a located copy is read from no
        folder, and a row without a key is never read.
        folder_relations: folder -> staging relation. -#}
    {%- set key = butter_key_column(kind) -%}
    {%- for folder, relation in butter_folder_relations(kind, folder_relations) %}
    select
        stg.*,
        '{{ folder }}' as source_folder
    from {{ relation }} as stg
    where
        {%- if not loop.first %}
        stg.{{ key }} in (
            select located.{{ key }}
            from {{ located_relation }} as located
            where located.read_from_folder = '{{ folder }}'
        )
        and
        {%- endif %}
        stg.{{ key }} is not null
        and (
            stg.source_file is null
            or (stg.{{ key }}, stg.source_file) not in (
                select
                    copies.{{ key }},
                    copies.source_file
                from {{ copies_relation }} as copies
                {{ 'left' if loop.first else 'inner' }} join {{ located_relation }} as located
                    on copies.{{ key }} = located.{{ key }}
                where
                    copies.source_folder = '{{ folder }}'
                    and copies.{{ key }} is not null
                    and copies.source_file is not null
                    {%- if loop.first %}
                    and (
                        located.{{ key }} is null
                        or located.read_from_folder != '{{ folder }}'
                        or located.read_from_file != copies.source_file
                    )
                    {%- else %}
                    {#- keys read from other folders are dropped by the semi-join above #}
                    and located.read_from_folder = '{{ folder }}'
                    and located.read_from_file != copies.source_file
                    {%- endif %}
            )
        )
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{% macro butter_copies_difference(values_text) -%}
    {#- What copies of one entity differ in (a located row): the cheap
        columns (values_text), the per-epoch arrays, or both. -#}
    case
        when has_disagreeing_values and has_disagreeing_arrays then '{{ values_text }} and per-epoch arrays'
        when has_disagreeing_values then '{{ values_text }}'
        else 'per-epoch arrays'
    end
{%- endmacro %}
